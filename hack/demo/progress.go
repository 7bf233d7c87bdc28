package main

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/term"
)

// quietReprint is how often a progress line that has not changed is printed again when the
// output is not a terminal (a log, a test).
const quietReprint = 10 * time.Second

// progressLine shows a status that changes over time: rewritten in place on a terminal, else
// printed when it changes and every quietReprint.
type progressLine struct {
	terminal    bool
	width       int  // of the terminal; a longer line would wrap and could not be rewritten
	onLine      bool // a terminal line is open, to be ended before other output
	lastState   string
	lastPrinted time.Time
}

func newProgressLine() *progressLine {
	fd := int(os.Stdout.Fd())
	if !term.IsTerminal(fd) {
		return &progressLine{}
	}
	width, _, err := term.GetSize(fd)
	if err != nil || width < 20 {
		width = 80
	}
	return &progressLine{terminal: true, width: width}
}

// show prints line; state is the part of line whose change is worth a new line in a log.
func (p *progressLine) show(line, state string) {
	if p.terminal {
		line = "    " + line
		if len(line) >= p.width {
			line = line[:p.width-4] + "..."
		}
		fmt.Printf("\r\033[K%s", line)
		p.onLine = true
		return
	}
	if state != p.lastState || time.Since(p.lastPrinted) >= quietReprint {
		fmt.Printf("    %s\n", line)
		p.lastState, p.lastPrinted = state, time.Now()
	}
}

// end finishes an open terminal line so that the next output starts on a line of its own.
func (p *progressLine) end() {
	if p.onLine {
		fmt.Println()
		p.onLine = false
	}
}
