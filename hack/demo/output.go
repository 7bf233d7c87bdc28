package main

import "fmt"

// heading prints the start of a demo step.
func heading(format string, args ...any) {
	fmt.Printf("==> "+format+"\n", args...)
}

// detail prints a line under the current step.
func detail(format string, args ...any) {
	fmt.Printf("    "+format+"\n", args...)
}
