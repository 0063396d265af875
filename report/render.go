package report

import (
	"embed"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"strings"
)

//go:embed assets/page.html assets/page.css assets/page.js assets/uPlot.iife.min.js assets/uPlot.min.css
var assets embed.FS

func asset(name string) string {
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		panic(err) // embedded at build time: cannot be missing
	}
	return string(b)
}

// page is the page with its scripts and styles inlined, and {{DATA}} and
// {{TITLE}} still to fill in.
var page = func() string {
	r := strings.NewReplacer(
		"{{UPLOT_CSS}}", asset("uPlot.min.css"),
		"{{PAGE_CSS}}", asset("page.css"),
		"{{UPLOT_JS}}", asset("uPlot.iife.min.js"),
		"{{PAGE_JS}}", asset("page.js"),
	)
	return r.Replace(asset("page.html"))
}()

// Render writes d as one self-contained HTML page: the chart library, the
// page's script and styles, and the data are all inline, so the file opens
// anywhere without network access.
func Render(w io.Writer, d *Data) error {
	// encoding/json escapes <, > and & in strings, so the data cannot end
	// its <script> element early.
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("report: encode data: %w", err)
	}
	r := strings.NewReplacer("{{DATA}}", string(b), "{{TITLE}}", html.EscapeString(d.Title))
	if _, err := r.WriteString(w, page); err != nil {
		return fmt.Errorf("report: write: %w", err)
	}
	return nil
}
