package e2e_test

import (
	"fmt"
	"io"
	"slices"
	"sync"
	"text/tabwriter"
)

// The counts the scenarios measure, printed at the end of the run.

type reportLine struct {
	scenario, measure string
	value             any
}

var (
	reportMu    sync.Mutex
	reportLines []reportLine
)

// record sets a measure of a scenario; scenario "all" holds the totals.
func record(scenario, measure string, value any) {
	reportMu.Lock()
	defer reportMu.Unlock()
	for i := range reportLines {
		if reportLines[i].scenario == scenario && reportLines[i].measure == measure {
			reportLines[i].value = value
			return
		}
	}
	reportLines = append(reportLines, reportLine{scenario, measure, value})
}

// add adds n to an integer measure.
func add(scenario, measure string, n int) {
	reportMu.Lock()
	defer reportMu.Unlock()
	for i := range reportLines {
		if reportLines[i].scenario == scenario && reportLines[i].measure == measure {
			v, _ := reportLines[i].value.(int)
			reportLines[i].value = v + n
			return
		}
	}
	reportLines = append(reportLines, reportLine{scenario, measure, n})
}

// Totals every run reports, even when a scenario did not get to count them.
var totals = []string{"kills (SIGKILL)", "restarts", "requests inside 429 windows", "duplicates found", "leaks found"}

// printReport writes the counts to w. Like the Flush at its end, its writes are best effort: a
// report that cannot be written has nowhere else to go.
func printReport(w io.Writer) {
	reportMu.Lock()
	defer reportMu.Unlock()
	_, _ = fmt.Fprintln(w, "\nEnd-to-end scenario counts")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "SCENARIO\tMEASURE\tVALUE")
	for _, line := range reportLines {
		if line.scenario != "all" {
			_, _ = fmt.Fprintf(tw, "%s\t%s\t%v\n", line.scenario, line.measure, line.value)
		}
	}
	for _, measure := range totals {
		var value any = 0
		for _, line := range reportLines {
			if line.scenario == "all" && line.measure == measure {
				value = line.value
			}
		}
		_, _ = fmt.Fprintf(tw, "total\t%s\t%v\n", measure, value)
	}
	for _, line := range reportLines {
		if line.scenario == "all" && !slices.Contains(totals, line.measure) {
			_, _ = fmt.Fprintf(tw, "total\t%s\t%v\n", line.measure, line.value)
		}
	}
	_ = tw.Flush()
}
