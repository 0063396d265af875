package structured

import "strings"

// extractJSON returns the JSON object text inside a model's answer. Native
// structured-output modes return bare JSON, but models asked through the
// prompt often wrap it in a Markdown fence ("```json … ```") or add a
// sentence before or after it. In order, extractJSON takes:
//
//  1. the whole answer, if it starts with '{' once white space (and a
//     byte-order mark) is trimmed;
//  2. the content of the first fenced block (``` or ~~~, any info string
//     such as "json") whose content starts with '{';
//  3. the text from the first '{' to the last '}'.
//
// It reports false if the answer holds no '{' … '}' at all. It never
// checks that the text is valid JSON: the decoder reports that, with a
// position the model can use.
func extractJSON(s string) (string, bool) {
	t := strings.TrimSpace(strings.TrimPrefix(s, "\ufeff"))
	if strings.HasPrefix(t, "{") {
		return t, true
	}
	if body, ok := fencedJSON(t); ok {
		return body, true
	}
	i := strings.IndexByte(t, '{')
	j := strings.LastIndexByte(t, '}')
	if i < 0 || j < i {
		return "", false
	}
	return t[i : j+1], true
}

// fencedJSON returns the trimmed content of the first fenced code block
// whose content starts with '{'. A fence is a line that starts with three
// backticks or three tildes; the block ends at the next line that starts
// with the same fence, or at the end of the text if it is not closed (a
// truncated answer).
func fencedJSON(s string) (string, bool) {
	for rest := s; ; {
		start, fence, ok := nextFence(rest)
		if !ok {
			return "", false
		}
		// Skip the info string ("json", "JSON", …) up to the end of the line.
		body := rest[start+len(fence):]
		nl := strings.IndexByte(body, '\n')
		if nl < 0 {
			return "", false
		}
		body = body[nl+1:]
		end := len(body)
		next := ""
		if k := closingFence(body, fence); k >= 0 {
			end, next = k, body[k+len(fence):]
		}
		if content := strings.TrimSpace(body[:end]); strings.HasPrefix(content, "{") {
			return content, true
		}
		if next == "" {
			return "", false
		}
		rest = next
	}
}

// nextFence finds the first line of s that starts with ``` or ~~~ and
// returns its offset and the fence.
func nextFence(s string) (int, string, bool) {
	for off := 0; off < len(s); {
		line := s[off:]
		if k := strings.IndexByte(line, '\n'); k >= 0 {
			line = line[:k]
		}
		trimmed := strings.TrimLeft(line, " \t")
		for _, f := range [...]string{"```", "~~~"} {
			if strings.HasPrefix(trimmed, f) {
				return off + len(line) - len(trimmed), f, true
			}
		}
		off += len(line) + 1
	}
	return 0, "", false
}

// closingFence returns the offset in body of the first line that starts
// (after indentation) with fence, or -1.
func closingFence(body, fence string) int {
	for off := 0; off < len(body); {
		line := body[off:]
		if k := strings.IndexByte(line, '\n'); k >= 0 {
			line = line[:k]
		}
		trimmed := strings.TrimLeft(line, " \t")
		if strings.HasPrefix(trimmed, fence) {
			return off + len(line) - len(trimmed)
		}
		off += len(line) + 1
	}
	return -1
}
