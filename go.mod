module github.com/batchllm/batchllm

go 1.26
