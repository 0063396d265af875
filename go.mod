module github.com/batchllm/batchllm

go 1.26

require (
	github.com/tiktoken-go/tokenizer v0.10.0
	go.uber.org/goleak v1.3.0
)

require github.com/dlclark/regexp2/v2 v2.5.1 // indirect
