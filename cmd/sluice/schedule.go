package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/internal/jobspec"
	"github.com/sluicehq/sluice/microbatch"
	"github.com/sluicehq/sluice/trigger"
)

const scheduleHelp = `Usage: sluice schedule [flags] JOB.yaml... | DIR

Runs each job on its cron trigger until Ctrl-C: the job specs given, or
every *.yaml / *.yml file in DIR. Each firing runs the job as availableNow
(everything new since the last run, in rate-limited batches, from the
job's checkpoint) and stops. A firing that comes while the job's previous
firing still runs is skipped and logged. With trigger.runMissed, a job
whose checkpoint's last batch is older than the schedule's previous firing
(a firing was missed while the scheduler was down) runs once at start.

Every job needs a cron trigger, {cron: "*/15 * * * *", timezone: UTC}; a
job without one is a usage error naming the file. Jobs are validated (spec,
SQL, output mode) before anything runs.

Ctrl-C (SIGINT/SIGTERM) stops firing; firings in flight commit their
current batch and stop. A second Ctrl-C abandons those batches (they are
replayed by the next firing). The checkpoint can also be run by sluice run
(a continuous trigger) at other times, never at the same time.

` + progressFlagsHelp + `
Exit codes: 0 stopped and no firing failed, 1 a firing failed (the
scheduler logs it and keeps going), 2 bad spec or usage.

Examples:
  sluice schedule examples/scheduled/job.yaml
  sluice schedule jobs/
`

func runSchedule(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("schedule", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, scheduleHelp) }
	var pf progressFlags
	pf.register(fs)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprint(stderr, scheduleHelp)
		return exitUsage
	}
	jobs, err := loadScheduled(fs.Args())
	if err != nil {
		fmt.Fprintf(stderr, "sluice schedule: %v\n", err)
		return exitUsage
	}
	out, err := startProgress(pf, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "sluice schedule: %v\n", err)
		return exitUsage
	}
	defer out.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s := newScheduler(trigger.System, out, jobs)
	go func() {
		<-ctx.Done()
		s.logf("stopping: firings in flight commit their current batch (Ctrl-C again to abandon it)")
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(sigs)
		select {
		case <-sigs:
			s.abandon()
		case <-s.done:
		}
	}()
	if s.run(ctx) {
		return exitFail
	}
	return exitOK
}

// scheduledJob is one job spec on its cron schedule.
type scheduledJob struct {
	spec  *jobspec.Spec
	sched cron.Schedule

	mu      sync.Mutex
	running bool
	query   *dataframe.StreamingQuery // the firing in flight, once started
}

// loadScheduled reads and validates the job specs of args (files, or one
// directory of *.yaml/*.yml), all of which need a cron trigger.
func loadScheduled(args []string) ([]*scheduledJob, error) {
	var files []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", jobspec.ErrSpec, err)
		}
		if !st.IsDir() {
			files = append(files, a)
			continue
		}
		var found []string
		for _, pat := range []string{"*.yaml", "*.yml"} {
			m, _ := filepath.Glob(filepath.Join(a, pat))
			found = append(found, m...)
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%w: %s has no job specs (*.yaml, *.yml)", jobspec.ErrSpec, a)
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	var jobs []*scheduledJob
	var errs []error
	checkpoints := map[string]string{}
	for _, f := range files {
		sp, err := jobspec.Load(f)
		if err == nil {
			err = sp.Validate()
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if sp.Trigger.Cron == "" {
			errs = append(errs, fmt.Errorf("%w: %s: trigger: sluice schedule runs jobs with a cron trigger, as trigger: {cron: \"*/15 * * * *\"}; run this one with sluice run", jobspec.ErrSpec, f))
			continue
		}
		w, err := sp.Writer(sp.NewSession())
		if err == nil {
			err = w.Validate()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f, err))
			continue
		}
		if other, dup := checkpoints[sp.Checkpoint]; dup && sp.Checkpoint != "" {
			errs = append(errs, fmt.Errorf("%w: %s: checkpoint %s is also %s's; two jobs cannot share a checkpoint", jobspec.ErrSpec, f, sp.Checkpoint, other))
			continue
		}
		checkpoints[sp.Checkpoint] = f
		sched, _ := sp.Trigger.Schedule() // Validate parsed it
		jobs = append(jobs, &scheduledJob{spec: sp, sched: sched})
	}
	return jobs, errors.Join(errs...)
}

// scheduler fires jobs on their schedules, on its clock (tests drive a
// manual one). A firing runs the job as availableNow on the same clock.
type scheduler struct {
	clock trigger.Clock
	jobs  []*scheduledJob
	done  chan struct{} // closed when run returns
	out   progressSink

	firings sync.WaitGroup
	mu      sync.Mutex
	failed  bool // a firing failed

	// beforeFiring, if set, is called in a firing before its query
	// starts (tests hold a firing open with it).
	beforeFiring func(job string, at time.Time)
	// afterFiring, if set, is called when a firing has ended.
	afterFiring func(job string, at time.Time, err error)
}

// progressSink is where the scheduler reports: its notices, and each
// firing's progress (a cron firing is a backfill: availableNow).
type progressSink interface {
	Listener(backfill bool) microbatch.Listener
	Logf(format string, args ...any)
}

func newScheduler(clock trigger.Clock, out progressSink, jobs []*scheduledJob) *scheduler {
	return &scheduler{clock: clock, out: out, jobs: jobs, done: make(chan struct{})}
}

func (s *scheduler) logf(format string, args ...any) {
	s.out.Logf("sluice schedule: "+format, args...)
}

// run fires the jobs until ctx is done, then stops the firings in flight
// after their current batch and waits for them. It reports whether a
// firing failed.
func (s *scheduler) run(ctx context.Context) (failed bool) {
	defer close(s.done)
	var loops sync.WaitGroup
	for _, j := range s.jobs {
		loops.Add(1)
		go func() {
			defer loops.Done()
			s.loop(ctx, j)
		}()
	}
	loops.Wait()
	for _, j := range s.jobs {
		j.mu.Lock()
		if q := j.query; q != nil {
			q.StopAfterBatch()
		}
		j.mu.Unlock()
	}
	s.firings.Wait()
	s.logf("stopped")
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

// abandon stops the firings in flight at once; their batches are
// replayed by the next firing.
func (s *scheduler) abandon() {
	s.logf("abandoning the batches in flight (replayed by the next firing)")
	for _, j := range s.jobs {
		j.mu.Lock()
		q := j.query
		j.mu.Unlock()
		if q != nil {
			go q.Stop(context.Background())
		}
	}
}

func (s *scheduler) loop(ctx context.Context, j *scheduledJob) {
	name := j.spec.Name
	if j.spec.Trigger.RunMissed {
		if due, last, missed := s.missed(ctx, j); missed {
			s.logf("job %s: the firing due at %s was missed (last batch at %s): running now", name, fmtTime(due), fmtTime(last))
			s.fire(ctx, j, s.clock.Now())
		}
	}
	for {
		now := s.clock.Now()
		next := j.sched.Next(now)
		if next.IsZero() {
			s.logf("job %s: the schedule %q never fires again", name, j.spec.Trigger.Cron)
			return
		}
		if err := s.clock.Sleep(ctx, next.Sub(now)); err != nil || ctx.Err() != nil {
			return
		}
		s.fire(ctx, j, next)
	}
}

// missed reports whether a firing came between the checkpoint's last
// batch and now: the schedule's next firing after the last batch's time
// is not in the future. A job that never committed a batch missed
// nothing.
func (s *scheduler) missed(ctx context.Context, j *scheduledJob) (due, last time.Time, missed bool) {
	r, err := microbatch.OpenCheckpointReader(ctx, j.spec.Checkpoint)
	if err != nil {
		return
	}
	_, last, ok, err := r.LastBatchTime(ctx)
	if err != nil || !ok {
		return
	}
	due = j.sched.Next(last)
	return due, last, !due.IsZero() && !due.After(s.clock.Now())
}

// fire starts one firing of j unless its previous one still runs.
func (s *scheduler) fire(ctx context.Context, j *scheduledJob, at time.Time) {
	j.mu.Lock()
	if j.running {
		j.mu.Unlock()
		s.logf("job %s: firing at %s skipped: the previous firing is still running", j.spec.Name, fmtTime(at))
		return
	}
	j.running = true
	j.mu.Unlock()
	s.firings.Add(1)
	go func() {
		defer s.firings.Done()
		err := s.runFiring(ctx, j, at)
		j.mu.Lock()
		j.running, j.query = false, nil
		j.mu.Unlock()
		if err != nil {
			s.mu.Lock()
			s.failed = true
			s.mu.Unlock()
			s.logf("job %s: firing at %s failed: %v", j.spec.Name, fmtTime(at), err)
		}
		if s.afterFiring != nil {
			s.afterFiring(j.spec.Name, at, err)
		}
	}()
}

// runFiring runs j once as availableNow (the spec's cron trigger becomes
// availableNow in Writer) and waits for it.
func (s *scheduler) runFiring(ctx context.Context, j *scheduledJob, at time.Time) error {
	if s.beforeFiring != nil {
		s.beforeFiring(j.spec.Name, at)
	}
	if ctx.Err() != nil {
		return nil // stopped before it began
	}
	var batches, rows int64
	w, err := j.spec.Writer(j.spec.NewSession())
	if err != nil {
		return err
	}
	w = w.Clock(s.clock).Listener(s.out.Listener(true)).Listener(microbatch.ListenerFuncs{Progress: func(e microbatch.ProgressEvent) {
		batches++
		rows += e.Progress.NumInputRows
	}})
	q, err := w.Start(context.Background())
	if err != nil {
		return err
	}
	j.mu.Lock()
	j.query = q
	j.mu.Unlock()
	if ctx.Err() != nil { // stopping: finish at once
		q.StopAfterBatch()
	}
	<-q.Done()
	if err := q.Exception(); err != nil {
		return err
	}
	s.logf("job %s: firing at %s done: %d batches, %d input rows", j.spec.Name, fmtTime(at), batches, rows)
	return nil
}

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// awaitQuery waits for q to end, stopping it on SIGINT/SIGTERM: the first
// signal (or one that already cancelled interrupted) lets the batch in
// flight commit and then stops; a second abandons it (its offsets are
// logged, so the next run replays it with the same rows).
func awaitQuery(interrupted context.Context, q *dataframe.StreamingQuery, stderr io.Writer, who string) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	n := 0
	stop := func() {
		n++
		if n == 1 {
			fmt.Fprintf(stderr, "%s: stopping after the batch in flight (Ctrl-C again to abandon it; it is replayed on the next run)\n", who)
			q.StopAfterBatch()
			return
		}
		fmt.Fprintf(stderr, "%s: abandoning the batch in flight (replayed on the next run)\n", who)
		go q.Stop(context.Background())
	}
	if interrupted.Err() != nil {
		stop()
	}
	for {
		select {
		case <-q.Done():
			return
		case <-sigs:
			stop()
		}
	}
}
