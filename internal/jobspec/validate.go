package jobspec

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/sinks"
)

// Validate reports every problem of the spec at once (not the SQL or the
// plan: Build checks those against the sources).
func (sp *Spec) Validate() error {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if sp.Name == "" {
		add("name: required (it names the query in progress and logs)")
	}
	if len(sp.Sources) == 0 {
		add("sources: at least one source is required")
	}
	for _, name := range sortedSources(sp.Sources) {
		src := sp.Sources[name]
		if src == nil {
			add("sources.%s: empty; give a format (%s)", name, dataframe.FormatNames(false))
			continue
		}
		if _, _, err := src.options(); err != nil {
			add("sources.%s: %v", name, err)
		}
		if src.Value != nil && src.Value.Format == "" {
			add("sources.%s.value.format: required (%s)", name, "json or avro")
		}
		if src.Static {
			if f, ok := dataframe.LookupFormat(src.Format); ok && !f.CanRead() {
				add("sources.%s.static: the %s format has no batch read; static sources: %s", name, f.Name, staticFormats())
			}
			if src.Watermark != nil {
				add("sources.%s.watermark: a static source has no event time to wait for; declare the watermark on the stream it is joined with", name)
			}
		}
		if w := src.Watermark; w != nil {
			if w.Column == "" {
				add("sources.%s.watermark.column: required", name)
			}
			if d, err := dataframe.ParseDuration(w.Delay); err != nil || d < 0 {
				add("sources.%s.watermark.delay: %q is not a duration like \"10 minutes\" or \"10s\"", name, w.Delay)
			}
		}
	}
	if strings.TrimSpace(sp.Query) == "" {
		add("query: required (a SQL SELECT over the sources)")
	}
	if sp.Sink == nil {
		add("sink: required; give a format (%s)", dataframe.FormatNames(true))
	} else {
		if f, ok := dataframe.LookupFormat(sp.Sink.Format); ok {
			if _, err := f.ResolveOptions(sp.Sink.Options); err != nil {
				add("sink: %v", err)
			}
		}
		if v := sp.Sink.Value; v != nil {
			if !strings.EqualFold(v.Format, "json") {
				add("sink.value.format: %q is not supported; use json (each row written as one JSON object)", v.Format)
			}
			for _, k := range sortedKeys(v.Options) {
				add("sink.value.%s: unknown; a sink's value takes only format", k)
			}
		}
	}
	if sp.OutputMode != "" {
		if _, err := sinks.ParseOutputMode(sp.OutputMode); err != nil {
			add("outputMode: %q is not append, update or complete", sp.OutputMode)
		}
	}
	if err := sp.Trigger.validate(); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			add("trigger: %s", line)
		}
	}
	if sp.Checkpoint == "" && (sp.Sink == nil || (sp.Sink.Format != "console" && sp.Sink.Format != "memory")) {
		add("checkpoint: required: a directory or s3://bucket/prefix where the job remembers what it processed")
	}
	if sp.ShufflePartitions < 0 {
		add("shufflePartitions: %d must be positive", sp.ShufflePartitions)
	}
	if len(errs) == 0 {
		return nil
	}
	where := sp.File
	if where == "" {
		where = "spec"
	}
	return fmt.Errorf("%w: %s:\n  %s", ErrSpec, where, strings.Join(errs, "\n  "))
}

func (t Trigger) validate() error {
	n := 0
	for _, set := range []bool{t.ProcessingTime != "", t.Once, t.AvailableNow, t.Cron != ""} {
		if set {
			n++
		}
	}
	var errs []error
	if n > 1 {
		errs = append(errs, fmt.Errorf("give one of processingTime, once, availableNow, cron"))
	}
	if t.ProcessingTime != "" {
		if d, err := dataframe.ParseDuration(t.ProcessingTime); err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("processingTime %q is not a positive duration like \"10s\"", t.ProcessingTime))
		}
	}
	if t.Cron != "" {
		if _, err := t.Schedule(); err != nil {
			errs = append(errs, err)
		}
	} else if t.Timezone != "" || t.RunMissed {
		errs = append(errs, fmt.Errorf("timezone and runMissed apply to a cron trigger only"))
	}
	return errors.Join(errs...)
}

// scheduleCheckFrom is a fixed reference time (a leap year's start) from
// which a schedule must fire at least once.
var scheduleCheckFrom = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// cronParser takes standard five-field specs and descriptors (@hourly).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Schedule parses Cron in Timezone. robfig/cron panics on some inputs;
// those are reported as errors too.
func (t Trigger) Schedule() (sched cron.Schedule, err error) {
	loc := time.UTC
	if t.Timezone != "" {
		l, lerr := time.LoadLocation(t.Timezone)
		if lerr != nil {
			zerr := fmt.Errorf("timezone %q is not a known zone (e.g. UTC, Europe/Berlin)", t.Timezone)
			if _, cerr := (Trigger{Cron: t.Cron}).Schedule(); cerr != nil {
				return nil, errors.Join(zerr, cerr)
			}
			return nil, zerr
		}
		loc = l
	}
	if strings.Contains(t.Cron, "TZ=") {
		return nil, fmt.Errorf("cron %q: give the zone in trigger.timezone, not in the spec", t.Cron)
	}
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("cron %q is not a valid schedule: %v", t.Cron, r)
		}
	}()
	s, perr := cronParser.Parse(t.Cron)
	if perr != nil {
		return nil, fmt.Errorf("cron %q is not a valid schedule (minute hour day-of-month month day-of-week, e.g. \"*/15 * * * *\"): %v", t.Cron, perr)
	}
	switch ss := s.(type) {
	case *cron.SpecSchedule:
		ss.Location = loc
	case cron.ConstantDelaySchedule:
		// robfig/cron turns @every 0s or -1s into every second.
		if d, err := time.ParseDuration(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(t.Cron), "@every"))); err != nil || d <= 0 {
			return nil, fmt.Errorf("cron %q: @every takes a positive duration, e.g. \"@every 15m\"", t.Cron)
		}
	}
	// A day that never comes (0 0 31 2 *): robfig/cron looks five years
	// ahead and gives up.
	if s.Next(scheduleCheckFrom).IsZero() {
		return nil, fmt.Errorf("cron %q never fires (no such date); check the day-of-month and month fields", t.Cron)
	}
	return s, nil
}

// staticFormats are the formats a static source can read.
func staticFormats() string {
	var names []string
	for _, f := range dataframe.Formats() {
		if f.CanRead() && f.Source != nil {
			names = append(names, f.Name)
		}
	}
	return strings.Join(names, ", ")
}
