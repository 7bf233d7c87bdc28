package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
)

// Profiles are the manager binary's CPU and heap profiles, and the top of each as
// `go tool pprof -top` prints it.
type Profiles struct {
	CPU     string `json:"cpu"`
	CPUTop  string `json:"cpuTop"`
	Heap    string `json:"heap"`
	HeapTop string `json:"heapTop"`
}

// cpuSegment is the length of one CPU profile; the profiler takes them back to back, so that
// the profile covers a window whose end is a condition, not a duration known in advance.
const cpuSegment = 5

// cpuProfiler profiles the manager binary through its --pprof-bind-address.
type cpuProfiler struct {
	base, dir string
	stopping  chan struct{}
	done      chan error
	segments  []string
}

// startCPUProfile starts profiling the binary whose pprof endpoint is at base (http://host:port).
func startCPUProfile(ctx context.Context, base, dir string) *cpuProfiler {
	p := &cpuProfiler{base: base, dir: dir, stopping: make(chan struct{}), done: make(chan error, 1)}
	go func() {
		for i := 0; ; i++ {
			select {
			case <-p.stopping:
				p.done <- nil
				return
			default:
			}
			path := filepath.Join(dir, fmt.Sprintf("cpu-%03d.pb.gz", i))
			if err := download(ctx, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, cpuSegment), path); err != nil {
				p.done <- err
				return
			}
			p.segments = append(p.segments, path)
		}
	}()
	return p
}

// stop waits for the segment under way and merges the segments into dir/cpu.pb.gz, with
// its top in dir/cpu-top.txt; then it takes the heap profile (after a GC) into dir/heap.pb.gz
// and dir/heap-top.txt.
func (p *cpuProfiler) stop(ctx context.Context) (*Profiles, error) {
	close(p.stopping)
	if err := <-p.done; err != nil {
		return nil, fmt.Errorf("CPU profile: %w", err)
	}
	out := &Profiles{
		CPU: filepath.Join(p.dir, "cpu.pb.gz"), CPUTop: filepath.Join(p.dir, "cpu-top.txt"),
		Heap: filepath.Join(p.dir, "heap.pb.gz"), HeapTop: filepath.Join(p.dir, "heap-top.txt"),
	}
	merged, err := goTool(ctx, append([]string{"pprof", "-proto"}, p.segments...)...)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(out.CPU, merged, 0o644); err != nil {
		return nil, err
	}
	for _, s := range p.segments {
		_ = os.Remove(s)
	}
	if err := pprofTop(ctx, out.CPUTop, out.CPU); err != nil {
		return nil, err
	}
	if err := download(ctx, p.base+"/debug/pprof/heap?gc=1", out.Heap); err != nil {
		return nil, fmt.Errorf("heap profile: %w", err)
	}
	if err := pprofTop(ctx, out.HeapTop, "-sample_index=inuse_space", out.Heap); err != nil {
		return nil, err
	}
	return out, nil
}

// topNodes is how many functions each top lists.
const topNodes = 40

// pprofTop writes to out the top of a profile twice: by the time or memory spent in a function
// itself (flat, the leaves), then including what it calls (cumulative, which shows the
// operator's own code and the libraries' entry points).
func pprofTop(ctx context.Context, out string, args ...string) error {
	var text []byte
	for _, order := range [][]string{{}, {"-cum"}} {
		part, err := goTool(ctx, append(append([]string{"pprof", "-top", fmt.Sprintf("-nodecount=%d", topNodes)}, order...), args...)...)
		if err != nil {
			return err
		}
		text = append(append(text, part...), '\n')
	}
	return os.WriteFile(out, text, 0o644)
}

// goTool runs `go tool args...` and returns what it prints.
func goTool(ctx context.Context, args ...string) ([]byte, error) {
	output, err := exec.CommandContext(ctx, "go", append([]string{"tool"}, args...)...).Output()
	if err != nil {
		var stderr []byte
		if exit, ok := err.(*exec.ExitError); ok {
			stderr = exit.Stderr
		}
		return nil, fmt.Errorf("go tool %v: %v\n%s", args, err, stderr)
	}
	return output, nil
}

func download(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
