package calls

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/batchllm/batchllm/provider/internal/streamwatch"
)

// CheckConfig checks the Config fields every provider has alike, as the
// provider's New reports them: the model is required, and the output cap
// and the stream limits may not be negative.
func CheckConfig(provider, model string, maxTokens int, firstToken, stall time.Duration) error {
	if model == "" {
		return errors.New(provider + ": Config.Model is empty")
	}
	if maxTokens < 0 {
		return fmt.Errorf("%s: Config.MaxTokens is %d; it must be >= 0", provider, maxTokens)
	}
	return streamwatch.Limits{FirstToken: firstToken, Stall: stall}.Validate(provider + ": Config")
}

// Key returns the API key a strategy sends, to remove it from errors: the
// configured one, else the first of the environment variables the SDK
// reads that is set.
func Key(configured string, env ...string) string {
	for _, name := range env {
		if configured != "" {
			break
		}
		configured = os.Getenv(name)
	}
	return configured
}
