package llmsim

import (
	"testing"

	"github.com/batchllm/batchllm/cost"
)

// TestModelTableAgreesWithCatalogue: the simulator's table and batchllm's
// catalogue, kept apart on purpose, name the same models with the same
// limits; a difference means one of them is wrong.
func TestModelTableAgreesWithCatalogue(t *testing.T) {
	cat := cost.Default()
	for name, m := range modelTable {
		p, err := cat.Lookup(name)
		if err != nil {
			t.Errorf("%s: in the simulator's table, not in the catalogue", name)
			continue
		}
		l := p.Limits
		if p.Provider != m.provider || int(l.ContextWindow) != m.contextWindow || int(l.MaxOutput) != m.maxOutput || int(l.CacheMinTokens) != m.cacheMin {
			t.Errorf("%s: simulator %+v, catalogue %s %+v", name, m, p.Provider, l)
		}
		if m.provider == "openai" && (l.FixedTemperature != m.fixedTemperature || (l.API == cost.APIResponses) != m.responsesOnly) {
			t.Errorf("%s: simulator fixed temperature %v, responses only %v; catalogue %+v", name, m.fixedTemperature, m.responsesOnly, l)
		}
		if m.source == "" {
			t.Errorf("%s: no source", name)
		}
	}
	for _, name := range cat.Models() {
		if _, ok := modelTable[name]; !ok {
			t.Errorf("%s: in the catalogue, not in the simulator's table", name)
		}
	}
}

func TestLookupModel(t *testing.T) {
	for name, want := range map[string]string{
		"gpt-4o-2024-08-06": "gpt-4o", "GPT-4o-mini": "gpt-4o-mini", "models/gemini-2.5-flash": "gemini-2.5-flash",
		"gemini-3-pro-preview": "gemini-3-pro", "claude-haiku-4-5-20251001": "claude-haiku-4-5", "o3-pro-2025-06-10": "o3-pro",
		"gpt-4o-mni": "", "gpt-5-4": "", "claude-opus-4-9": "",
	} {
		m, ok := lookupModel(name)
		if ok != (want != "") || (ok && m != modelTable[want]) {
			t.Errorf("lookupModel(%q) = %+v, %v; want %q", name, m, ok, want)
		}
	}
}
