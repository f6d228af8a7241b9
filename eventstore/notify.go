package eventstore

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
)

var channelName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Listen calls fn with the payload of every notification on channel until ctx ends, on a
// dedicated connection that it re-opens (with back-off) whenever the database goes away.
// Notifications sent while it is disconnected are lost: use it to wake up, never as the
// only source of truth. NotifyChannel carries the last position of each commit.
func (s *Postgres) Listen(ctx context.Context, channel string, fn func(payload string)) error {
	if !channelName.MatchString(channel) {
		return fmt.Errorf("listen: bad channel name %q", channel)
	}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, channel, fn)
		if ctx.Err() != nil {
			break
		}
		s.log.Debug("listen connection lost; reconnecting", "channel", channel, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
	return nil
}

func (s *Postgres) listenOnce(ctx context.Context, channel string, fn func(string)) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		return err
	}
	fn("") // (re)connected: whatever happened meanwhile is worth a look
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) || ctx.Err() != nil {
				return nil
			}
			return err
		}
		fn(n.Payload)
	}
}

// Notify sends payload on channel (delivered to listeners of every instance).
func (s *Postgres) Notify(ctx context.Context, channel, payload string) error {
	_, err := s.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, payload)
	return classify(err)
}

// Ping checks that the database answers.
func (s *Postgres) Ping(ctx context.Context) error { return classify(s.pool.Ping(ctx)) }
