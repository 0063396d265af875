module github.com/batchllm/batchllm/contrib/langchaingo

go 1.26.0

require (
	github.com/batchllm/batchllm v0.0.0
	github.com/tmc/langchaingo v0.1.14
	go.uber.org/goleak v1.3.0
)

require (
	github.com/dlclark/regexp2 v1.10.0 // indirect
	github.com/dlclark/regexp2/v2 v2.5.1 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/pkoukk/tiktoken-go v0.1.6 // indirect
	github.com/tiktoken-go/tokenizer v0.10.0 // indirect
)

// The adapter is developed with the library beside it; a release pins a
// tagged version instead.
replace github.com/batchllm/batchllm => ../..
