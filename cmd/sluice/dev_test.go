package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// syncBuffer is a bytes.Buffer safe to read while the command writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var listenRe = regexp.MustCompile(`listening on (\S+)`)

// waitAddr waits for the broker's address line.
func waitAddr(t *testing.T, out *syncBuffer, done <-chan int, stderr *syncBuffer) string {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		if m := listenRe.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		select {
		case code := <-done:
			t.Fatalf("dev kafka exited with %d before listening; stderr:\n%s", code, stderr.String())
		case <-deadline:
			t.Fatalf("dev kafka printed no address; stdout:\n%s", out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func roundTrip(t *testing.T, addr, topic, value string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic), kgo.ConsumeTopics(topic), kgo.AllowAutoTopicCreation(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if value != "" {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(value)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	var errs []error
	for len(got) == 0 && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachError(func(_ string, _ int32, err error) { errs = append(errs, err) }) // retried
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	if len(got) == 0 || got[0] == "" {
		t.Fatalf("read back %v; fetch errors %v", got, errs)
	}
}

// The broker serves Kafka clients (franz-go and kcat) on the address it
// prints, creates the topics asked for, and stops cleanly on SIGINT.
func TestDevKafka(t *testing.T) {
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"dev", "kafka", "--addr", "127.0.0.1:0", "--partitions", "3", "--topics", "a, b"}, &out, &errOut)
	}()
	addr := waitAddr(t, &out, done, &errOut)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	tds, err := kadm.NewClient(cl).ListTopics(context.Background(), "a", "b")
	cl.Close()
	if err != nil || len(tds["a"].Partitions) != 3 || len(tds["b"].Partitions) != 3 {
		t.Fatalf("topics: %v %v", tds, err)
	}
	roundTrip(t, addr, "a", "hello")
	roundTrip(t, addr, "created-on-use", "x")
	if path, err := exec.LookPath("kcat"); err == nil {
		cmd := exec.Command(path, "-P", "-b", addr, "-t", "b", "-p", "2")
		cmd.Stdin = strings.NewReader("from-kcat\n")
		if o, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kcat -P: %v %s", err, o)
		}
		o, err := exec.Command(path, "-C", "-b", addr, "-t", "b", "-e", "-q", "-X", "isolation.level=read_committed").CombinedOutput()
		if err != nil || strings.TrimSpace(string(o)) != "from-kcat" {
			t.Fatalf("kcat -C: %v %q", err, o)
		}
	} else {
		t.Log("kcat is not installed (apt-get install kcat; .ci/run installs it): skipping the kcat part")
	}
	syscall.Kill(os.Getpid(), syscall.SIGINT)
	select {
	case code := <-done:
		if code != exitOK || !strings.Contains(out.String(), "stopping") {
			t.Fatalf("exit %d; stdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("dev kafka did not stop on SIGINT")
	}
}

// With --data-dir a restarted broker still has the records.
func TestDevKafkaDataDir(t *testing.T) {
	dir := t.TempDir()
	serve := func() (string, context.CancelFunc, chan int) {
		var out, errOut syncBuffer
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int, 1)
		go func() {
			done <- devKafka(ctx, []string{"--addr", "127.0.0.1:0", "--data-dir", dir, "--sync"}, &out, &errOut)
		}()
		return waitAddr(t, &out, done, &errOut), cancel, done
	}
	addr, stop, done := serve()
	roundTrip(t, addr, "kept", "before-restart")
	stop()
	if code := <-done; code != exitOK {
		t.Fatalf("exit %d", code)
	}
	addr, stop, done = serve()
	defer func() { stop(); <-done }()
	roundTrip(t, addr, "kept", "") // only reads: the record survived
}

func TestDevUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"dev"}, exitUsage, "Services:"},
		{[]string{"dev", "--help"}, exitOK, "kafka"},
		{[]string{"dev", "zookeeper"}, exitUsage, `unknown service "zookeeper"`},
		{[]string{"dev", "kafka", "--help"}, exitOK, "Examples:"},
		{[]string{"dev", "kafka", "--partitions", "0"}, exitUsage, "want 1..10000"},
		{[]string{"dev", "kafka", "--sync"}, exitUsage, "--sync needs --data-dir"},
		{[]string{"dev", "kafka", "extra"}, exitUsage, "unexpected arguments"},
		{[]string{"dev", "kafka", "--addr", "nonsense"}, exitFail, "want host:port"},
	} {
		var out, errOut bytes.Buffer
		if code := run(c.args, &out, &errOut); code != c.code || !strings.Contains(errOut.String()+out.String(), c.want) {
			t.Errorf("%v: exit %d (want %d), output:\n%s%s", c.args, code, c.code, out.String(), errOut.String())
		}
	}
	// A taken port is named with what to do.
	var out, errOut syncBuffer
	done := make(chan int, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- devKafka(ctx, []string{"--addr", "127.0.0.1:0"}, &out, &errOut) }()
	addr := waitAddr(t, &out, done, &errOut)
	var errOut2 bytes.Buffer
	if code := run([]string{"dev", "kafka", "--addr", addr}, &bytes.Buffer{}, &errOut2); code != exitFail || !strings.Contains(errOut2.String(), "pick another with --addr") {
		t.Errorf("taken port: exit %d: %s", code, errOut2.String())
	}
	cancel()
	<-done
}
