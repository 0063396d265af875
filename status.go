package batchllm

import "net/http"

// StatusClass is the class of an HTTP error status, as every provider means
// it. Provider classifiers check their own special cases first (an
// exhausted quota behind a 429, an invalid key behind a 400) and fall back
// on it:
//
//   - 429: rate limited;
//   - 503 and 529: overloaded;
//   - 408, 409 and other 5xx: transient;
//   - 401, 402 and 403: fatal for the batch (a bad key, no money or no
//     access fails every item alike);
//   - other 4xx (a bad request, a context that is too long): fatal for the
//     item;
//   - anything else: transient.
func StatusClass(code int) ErrorClass {
	switch {
	case code == http.StatusTooManyRequests:
		return ClassRateLimited
	case code == http.StatusServiceUnavailable || code == 529:
		return ClassOverloaded
	case code == http.StatusRequestTimeout || code == http.StatusConflict || code >= 500:
		return ClassTransient
	case code == http.StatusUnauthorized || code == http.StatusPaymentRequired || code == http.StatusForbidden:
		return ClassFatalBatch
	case code >= 400:
		return ClassFatalItem
	}
	return ClassTransient
}
