package main

import (
	"context"
	"fmt"
	"time"
)

// cleanupStepTimeout bounds each cleanup step, so the demo always exits.
const cleanupStepTimeout = 90 * time.Second

// teardown undoes the demo's steps in reverse order: each step registers its undo as soon as it
// has something to undo, so a failure anywhere still stops every process and removes the
// temporary directory.
type teardown struct {
	steps []teardownStep
}

type teardownStep struct {
	name string
	undo func(context.Context) error
}

func (t *teardown) add(name string, undo func(context.Context) error) {
	t.steps = append(t.steps, teardownStep{name: name, undo: undo})
}

// run undoes every step, newest first, and reports whether any of them failed.
func (t *teardown) run() (failed bool) {
	if len(t.steps) == 0 {
		return false
	}
	fmt.Println()
	heading("cleaning up")
	for i := len(t.steps) - 1; i >= 0; i-- {
		step := t.steps[i]
		ctx, cancel := context.WithTimeout(context.Background(), cleanupStepTimeout)
		err := step.undo(ctx)
		cancel()
		if err != nil {
			failed = true
			detail("%s: FAILED: %v", step.name, err)
			continue
		}
		detail("%s", step.name)
	}
	t.steps = nil
	return failed
}
