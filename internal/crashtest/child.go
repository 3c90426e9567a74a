package crashtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Child is the running test binary re-executed as a crash test's child
// process: it runs only the test testName (which acts as the child when it
// finds its environment) with extra environment variables. The child
// announces its progress by printing lines on stdout ("running", ...),
// which the parent waits for with Seen.
type Child struct {
	cmd     *exec.Cmd
	stderr  bytes.Buffer
	scanned chan struct{}
	exited  chan struct{}

	mu    sync.Mutex
	lines map[string]chan struct{}
}

// StartChild starts the test binary as a child running testName.
func StartChild(testName string, env ...string) (*Child, error) {
	c := &Child{scanned: make(chan struct{}), exited: make(chan struct{}), lines: map[string]chan struct{}{}}
	c.cmd = exec.Command(os.Args[0], "-test.run=^"+testName+"$", "-test.count=1")
	c.cmd.Env = append(os.Environ(), env...)
	c.cmd.Stderr = &c.stderr
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("crashtest: start child: %w", err)
	}
	go func() {
		defer close(c.scanned)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			ch := c.line(sc.Text())
			select {
			case <-ch:
			default:
				close(ch)
			}
		}
	}()
	return c, nil
}

func (c *Child) line(s string) chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.lines[s]
	if !ok {
		ch = make(chan struct{})
		c.lines[s] = ch
	}
	return ch
}

// Seen is closed once the child printed line.
func (c *Child) Seen(line string) <-chan struct{} { return c.line(line) }

// Exited is closed once Wait reaped the child.
func (c *Child) Exited() <-chan struct{} { return c.exited }

// Kill sends SIGKILL.
func (c *Child) Kill() { c.cmd.Process.Signal(syscall.SIGKILL) }

// Result is how a child ended.
type Result struct {
	Code     int  // exit code; -1 when killed by a signal
	Signaled bool // killed by SIGKILL
	Hung     bool // Wait killed it after its timeout
	Status   string
	Stderr   string
}

// Wait reaps the child, killing it first if it runs longer than timeout
// (Result.Hung: a hang is a failure). Call it exactly once.
func (c *Child) Wait(timeout time.Duration) (Result, error) {
	hung := time.AfterFunc(timeout, c.Kill)
	<-c.scanned
	err := c.cmd.Wait()
	close(c.exited)
	res := Result{Hung: !hung.Stop(), Stderr: c.stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
		res.Status = "exit 0"
	case errors.As(err, &ee):
		ws := ee.Sys().(syscall.WaitStatus)
		res.Code = ws.ExitStatus()
		if ws.Signaled() {
			res.Signaled = ws.Signal() == syscall.SIGKILL
			res.Status = "signal " + ws.Signal().String()
		} else {
			res.Status = "exit " + strconv.Itoa(res.Code)
		}
	default:
		return res, fmt.Errorf("crashtest: wait child: %w", err)
	}
	return res, nil
}
