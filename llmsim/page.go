package llmsim

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The list endpoints' paging, in the two styles the providers use.
//
// OpenAI and Anthropic list newest first and page by the id of an item as a
// cursor: OpenAI by after
// (https://platform.openai.com/docs/api-reference/batch/list,
// https://platform.openai.com/docs/api-reference/files/list), Anthropic by
// after_id or before_id
// (https://docs.anthropic.com/en/api/listing-message-batches); both take a
// limit from 1 to a maximum, default 20, and answer has_more, first_id and
// last_id.
//
// Gemini pages by pageSize and an opaque pageToken, the nextPageToken of the
// page before (https://google.aip.dev/158; https://ai.google.dev/api/batch-mode
// and https://ai.google.dev/api/caching, list methods: "values above 1000
// will be coerced to 1000"). Our token is the offset of the page's first
// item, which no client reads.

// newestFirst sorts items by creation time, newest first, and items created
// in the same instant by id, descending, so that the order is stable.
func newestFirst[T any](items []T, key func(T) (time.Time, string)) {
	slices.SortFunc(items, func(a, b T) int {
		ta, ia := key(a)
		tb, ib := key(b)
		if d := tb.Compare(ta); d != 0 {
			return d
		}
		return strings.Compare(ib, ia)
	})
}

// cursorPage returns the page of items, already in list order, that starts
// after the item whose id is after and ends before the one whose id is
// before (an empty or unknown id does not cut), of at most limit items
// (limitStr; default 20, at most maxLimit), and whether more items follow.
func cursorPage[T any](items []T, id func(T) string, after, before, limitStr string, maxLimit int) ([]T, bool) {
	if after != "" {
		if i := slices.IndexFunc(items, func(it T) bool { return id(it) == after }); i >= 0 {
			items = items[i+1:]
		}
	}
	if before != "" {
		if i := slices.IndexFunc(items, func(it T) bool { return id(it) == before }); i >= 0 {
			items = items[:i]
		}
	}
	limit := 20
	if n, err := strconv.Atoi(limitStr); err == nil && n > 0 {
		limit = min(n, maxLimit)
	}
	if len(items) > limit {
		return items[:limit], true
	}
	return items, false
}

// cursorList is the list object of a cursor page: {"data", "has_more",
// "first_id", "last_id"}, with null ids for an empty page (Anthropic's
// shape, https://docs.anthropic.com/en/api/listing-message-batches).
func cursorList[T any](page []T, more bool, id func(T) string) map[string]any {
	out := map[string]any{"data": page, "has_more": more, "first_id": nil, "last_id": nil}
	if page == nil {
		out["data"] = []T{}
	}
	if len(page) > 0 {
		out["first_id"], out["last_id"] = id(page[0]), id(page[len(page)-1])
	}
	return out
}

// errPageArgs is the 400 for a pageSize or pageToken that is not a
// non-negative number (AIP-158: an invalid token is INVALID_ARGUMENT; the
// message is ours).
var errPageArgs = errors.New("invalid pageSize or pageToken")

// offsetPage returns the bounds [start, end) of the Gemini page of n items
// that pageSize and pageToken ask for (pageSize 0 or absent: def), and the
// nextPageToken, "" on the last page.
func offsetPage(n int, pageSize, pageToken string, def int) (start, end int, next string, err error) {
	size := def
	if pageSize != "" {
		v, err := strconv.Atoi(pageSize)
		if err != nil || v < 0 {
			return 0, 0, "", errPageArgs
		}
		if v > 0 {
			size = min(v, 1000)
		}
	}
	if pageToken != "" {
		if start, err = strconv.Atoi(pageToken); err != nil || start < 0 {
			return 0, 0, "", errPageArgs
		}
	}
	start = min(start, n)
	end = min(start+size, n)
	if end < n {
		next = strconv.Itoa(end)
	}
	return start, end, next, nil
}
