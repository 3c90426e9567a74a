package kafkaconf

import (
	"context"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// logger forwards franz-go's warnings and errors to slog; its info and
// debug chatter stays out of the way. franz-go never logs credentials.
type logger struct{ log *slog.Logger }

func (l *logger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (l *logger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lv := slog.LevelWarn
	if level == kgo.LogLevelError {
		lv = slog.LevelError
	}
	l.log.Log(context.Background(), lv, "kafka client: "+msg, keyvals...)
}

func msDuration(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }
