package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// Machine describes where the run happened.
type Machine struct {
	CPU       string `json:"cpu"`
	CPUs      int    `json:"cpus"`
	MemoryMiB int64  `json:"memoryMiB"`
	Kernel    string `json:"kernel"`
	Go        string `json:"go"`
}

func describeMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemoryMiB = procField(string(b), "MemTotal") / 1024
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = runtime.GOOS + " " + strings.TrimSpace(string(b))
	}
	return m
}

// cpuSeconds is the CPU time used so far by this process and the kube-apiserver and etcd it
// started (others may run on a shared machine).
func cpuSeconds() map[string]float64 {
	out := map[string]float64{}
	entries, _ := os.ReadDir("/proc")
	self := os.Getpid()
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		stat := string(data)
		open, closing := strings.Index(stat, "("), strings.LastIndex(stat, ")")
		if open < 0 || closing < 0 || closing+2 > len(stat) {
			continue
		}
		name := stat[open+1 : closing]
		fields := strings.Fields(stat[closing+2:]) // state, ppid, ...
		if len(fields) < 13 {
			continue
		}
		if e.Name() == fmt.Sprint(self) {
			name = "manager+simulator+harness"
		} else if (name != "kube-apiserver" && name != "etcd") || fields[1] != fmt.Sprint(self) {
			continue
		}
		user, errUser := strconv.ParseFloat(fields[11], 64)
		system, errSystem := strconv.ParseFloat(fields[12], 64)
		if errUser != nil || errSystem != nil {
			continue
		}
		out[name] += (user + system) / 100 // clock ticks; USER_HZ is 100 on Linux
	}
	return out
}

// procField reads a "Name:   123 kB" line of a /proc file.
func procField(text, name string) int64 {
	for _, line := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == name {
			n, _ := strconv.ParseInt(strings.Fields(v + " 0")[0], 10, 64) // "123 kB"; 0 when unreadable
			return n
		}
	}
	return 0
}
