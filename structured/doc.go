// Package structured gives typed results.
package structured
