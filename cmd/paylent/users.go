package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/access"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/spf13/cobra"
)

// userView is a user as the CLI prints it (the Management API's fields; never the password
// hash).
type userView struct {
	ID            string `json:"user_id"`
	Email         string `json:"email"`
	Name          string `json:"name"`
	EmailVerified bool   `json:"email_verified"`
	Disabled      bool   `json:"disabled"`
	CreatedAt     string `json:"created_at"`
}

func viewUser(u catalog.User) userView {
	return userView{ID: u.ID, Email: u.Email, Name: u.Name, EmailVerified: u.EmailVerified, Disabled: u.Disabled,
		CreatedAt: stamp(u.CreatedAt)}
}

func (v userView) print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "user_id:\t%s\nemail:\t%s\nname:\t%s\nemail_verified:\t%v\ndisabled:\t%v\ncreated_at:\t%s\n",
		v.ID, v.Email, v.Name, v.EmailVerified, v.Disabled, v.CreatedAt)
	return tw.Flush()
}

// userRef is how a command names a user: --id or --email, exactly one.
type userRef struct{ slug, id, email string }

func userRefFlags(cmd *cobra.Command, ref *userRef) {
	envFlag(cmd, &ref.slug)
	cmd.Flags().StringVar(&ref.id, "id", "", "the user's id")
	cmd.Flags().StringVar(&ref.email, "email", "", "the user's email address (case-insensitive)")
	cmd.MarkFlagsOneRequired("id", "email")
	cmd.MarkFlagsMutuallyExclusive("id", "email")
}

func (r userRef) String() string {
	if r.id != "" {
		return fmt.Sprintf("user %q", r.id)
	}
	return fmt.Sprintf("user with email %q", r.email)
}

// user reads a user at the log's head; not found names the user and the environment.
func (s *cliSession) user(ctx context.Context, ref userRef) (catalog.User, error) {
	if err := s.environment(ctx, ref.slug); err != nil {
		return catalog.User{}, err
	}
	u, ok := s.catalog.User(ref.slug, ref.id)
	if ref.id == "" {
		u, ok = s.catalog.UserByEmail(ref.slug, ref.email)
	}
	if !ok {
		return catalog.User{}, fmt.Errorf("no %s in environment %q", ref, ref.slug)
	}
	return u, nil
}

func usersListCommand() verb {
	var slug, prefix, cursor string
	var limit int
	var asJSON bool
	v := newVerb("list --env ENV [--email-prefix PREFIX] [--cursor EMAIL] [--limit N] [--json]",
		"list users by email, a page at a time", nil)
	v.run = func(ctx context.Context, env *cliEnv) error {
		if limit < 1 || limit > 500 {
			return fmt.Errorf("%w: --limit must be 1 to 500", errUsage)
		}
		s, err := openSession(ctx, env, false)
		if err != nil {
			return err
		}
		defer s.close()
		if err := s.environment(ctx, slug); err != nil {
			return err
		}
		page := s.catalog.Users(slug, prefix, cursor, limit+1)
		next := ""
		if len(page) > limit {
			page, next = page[:limit], page[limit-1].Email
		}
		views := make([]userView, 0, len(page))
		for _, u := range page {
			views = append(views, viewUser(u))
		}
		if asJSON {
			out := map[string]any{"users": views}
			if next != "" {
				out["next_cursor"] = next
			}
			return printJSON(env.stdout, out)
		}
		tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USER_ID\tEMAIL\tNAME\tDISABLED")
		for _, u := range views {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%v\n", u.ID, u.Email, u.Name, u.Disabled)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if next != "" {
			fmt.Fprintf(env.stdout, "more: paylent users list --env %s --cursor %s\n", slug, next)
		}
		return nil
	}
	envFlag(v.cmd, &slug)
	f := v.cmd.Flags()
	f.StringVar(&prefix, "email-prefix", "", "only addresses that start with this (case-insensitive)")
	f.StringVar(&cursor, "cursor", "", "start after this address (the previous page's next_cursor)")
	f.IntVar(&limit, "limit", 50, "at most this many users (1 to 500)")
	jsonFlag(v.cmd, &asJSON)
	return v
}

func usersGetCommand() verb {
	var ref userRef
	var asJSON bool
	v := newVerb("get --env ENV (--id ID | --email EMAIL) [--json]", "show a user",
		func(ctx context.Context, env *cliEnv) error {
			s, err := openSession(ctx, env, false)
			if err != nil {
				return err
			}
			defer s.close()
			u, err := s.user(ctx, ref)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(env.stdout, viewUser(u))
			}
			return viewUser(u).print(env.stdout)
		})
	userRefFlags(v.cmd, &ref)
	jsonFlag(v.cmd, &asJSON)
	return v
}

func usersUpdateCommand() verb {
	var ref userRef
	var name string
	var disable, enable, asJSON bool
	v := newVerb("update --env ENV (--id ID | --email EMAIL) [--name NAME] [--disable | --enable] [--json]",
		"rename, disable or enable a user (disabling ends their sessions and tokens)", nil)
	v.run = func(ctx context.Context, env *cliEnv) error {
		s, err := openSession(ctx, env, false)
		if err != nil {
			return err
		}
		defer s.close()
		u, err := s.user(ctx, ref)
		if err != nil {
			return err
		}
		ended, err := updateUser(ctx, s, app.UserRef{Environment: ref.slug, UserID: u.ID}, v.cmd, name, disable, enable)
		if err != nil {
			return s.notFound(err, ref.slug, ref.String())
		}
		if err := s.ops.AfterWrite(ctx, ended.Position, s.runtimes[0]); err != nil {
			return err
		}
		u, _ = s.catalog.User(ref.slug, u.ID)
		if asJSON {
			return printJSON(env.stdout, map[string]any{"user": viewUser(u), "position": ended.Position,
				"sessions_revoked": ended.Sessions, "grants_revoked": ended.Grants})
		}
		fmt.Fprintf(env.stdout, "updated user %s (%s) in %s", u.ID, u.Email, ref.slug)
		if disable {
			fmt.Fprintf(env.stdout, ": disabled; %d sessions and %d grants revoked", ended.Sessions, ended.Grants)
		}
		fmt.Fprintln(env.stdout)
		return viewUser(u).print(env.stdout)
	}
	userRefFlags(v.cmd, &ref)
	f := v.cmd.Flags()
	f.StringVar(&name, "name", "", "the user's new name")
	f.BoolVar(&disable, "disable", false, "disable the user: their sessions and tokens end, and they cannot sign in")
	f.BoolVar(&enable, "enable", false, "let a disabled user sign in again (nothing revoked comes back)")
	v.cmd.MarkFlagsOneRequired("name", "disable", "enable")
	v.cmd.MarkFlagsMutuallyExclusive("disable", "enable")
	jsonFlag(v.cmd, &asJSON)
	return v
}

// updateUser runs the operations the flags ask for: rename, then disable or enable.
func updateUser(ctx context.Context, s *cliSession, ref app.UserRef, cmd *cobra.Command, name string, disable, enable bool) (app.Ended, error) {
	var out app.Ended
	if cmd.Flags().Changed("name") {
		w, err := s.ops.RenameUser(ctx, ref, name, operatorActor("users-update"))
		if err != nil {
			return out, err
		}
		out.Position = w.Position
	}
	var ended app.Ended
	var err error
	switch {
	case disable:
		ended, err = s.ops.DisableUser(ctx, ref, operatorActor("users-update"))
	case enable:
		ended, err = s.ops.EnableUser(ctx, ref, operatorActor("users-update"))
	default:
		return out, nil
	}
	ended.Position = max(ended.Position, out.Position)
	return ended, err
}

func usersDeleteCommand() verb {
	var ref userRef
	var asJSON bool
	v := newVerb("delete --env ENV (--id ID | --email EMAIL) [--json]",
		"delete a user, end their sessions and tokens and free the address (asks nothing)",
		func(ctx context.Context, env *cliEnv) error {
			s, err := openSession(ctx, env, false)
			if err != nil {
				return err
			}
			defer s.close()
			u, err := s.user(ctx, ref)
			if err != nil {
				return err
			}
			ended, err := s.ops.DeleteUser(ctx, app.UserRef{Environment: ref.slug, UserID: u.ID}, operatorActor("users-delete"))
			if err != nil {
				return s.notFound(err, ref.slug, ref.String())
			}
			if asJSON {
				return printJSON(env.stdout, map[string]any{"user_id": u.ID, "email": u.Email, "deleted": true,
					"position": ended.Position, "sessions_revoked": ended.Sessions, "grants_revoked": ended.Grants})
			}
			fmt.Fprintf(env.stdout, "deleted user %s (%s) in %s: %d sessions and %d grants revoked\n",
				u.ID, u.Email, ref.slug, ended.Sessions, ended.Grants)
			return nil
		})
	userRefFlags(v.cmd, &ref)
	jsonFlag(v.cmd, &asJSON)
	return v
}

func usersResetPasswordCommand() verb {
	var ref userRef
	var fromStdin, generate, asJSON bool
	v := newVerb("reset-password --env ENV (--email EMAIL | --id ID) (--password-stdin | --generate) [--json]",
		"set a user's new password; every session and token of theirs ends",
		func(ctx context.Context, env *cliEnv) error { return resetPassword(ctx, env, ref, fromStdin, asJSON) })
	userRefFlags(v.cmd, &ref)
	f := v.cmd.Flags()
	f.BoolVar(&fromStdin, "password-stdin", false, "read the new password from the first line of standard input")
	f.BoolVar(&generate, "generate", false, "generate a password and print it once")
	v.cmd.MarkFlagsOneRequired("password-stdin", "generate")
	v.cmd.MarkFlagsMutuallyExclusive("password-stdin", "generate")
	f.BoolVar(&asJSON, "json", false, `print {"user_id": ..., "email": ..., "password": ... (generated only), ...}`)
	return v
}

func resetPassword(ctx context.Context, env *cliEnv, ref userRef, fromStdin, asJSON bool) error {
	req := app.ResetPassword{Environment: ref.slug, UserID: ref.id, Email: ref.email}
	if fromStdin {
		p, err := readPasswordLine(env.stdin)
		if err != nil {
			return err
		}
		if p == "" {
			return fmt.Errorf("%w: standard input holds no password", errUsage)
		}
		req.Password = p
	}
	s, err := openSession(ctx, env, true)
	if err != nil {
		return err
	}
	defer s.close()
	if _, err := s.user(ctx, ref); err != nil {
		return err
	}
	done, err := s.ops.ResetPassword(ctx, req, operatorActor("users-reset-password"))
	var ve *domain.ValidationError
	switch {
	case errors.As(err, &ve) && ve.Field == "password":
		return fmt.Errorf("%w: %v", errUsage, err)
	case errors.Is(err, access.ErrUserEnded):
		return fmt.Errorf("%s in environment %q is disabled: enable it first (paylent users update --enable)", ref, ref.slug)
	case err != nil && done.Position == 0:
		return s.notFound(err, ref.slug, ref.String())
	}
	if asJSON {
		out := map[string]any{"user_id": done.UserID, "email": done.Email, "position": done.Position,
			"sessions_revoked": done.Sessions, "grants_revoked": done.Grants}
		if done.Generated != "" {
			out["password"] = done.Generated
		}
		if jerr := printJSON(env.stdout, out); jerr != nil {
			return jerr
		}
		return err
	}
	fmt.Fprintf(env.stdout, "reset the password of %s (%s) in %s: %d sessions and %d grants revoked\n",
		done.Email, done.UserID, ref.slug, done.Sessions, done.Grants)
	if done.Generated != "" {
		fmt.Fprintf(env.stdout, "password: %s   (shown once)\n", done.Generated)
	}
	return err
}
