package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/paylent/paylent/app"
	"github.com/spf13/cobra"
)

// `paylent users factors …`: a user's second factors and passkeys, and an operator's reset
// (a lost phone or laptop). Secrets are never printed: there are none to print (seeds are
// sealed in events, recovery codes hashed, passkeys hold public keys only).

func (c *cli) usersFactorsGroup() *cobra.Command {
	return c.group("factors", "a user's second factors and passkeys", usersFactorsListCommand(), usersFactorsRemoveCommand())
}

// factorsView is a user's factors as the CLI prints them (the Management API's fields).
type factorsView struct {
	UserID      string       `json:"user_id"`
	Email       string       `json:"email"`
	Factors     []app.Factor `json:"factors"`
	LockedUntil string       `json:"locked_until,omitempty"`
}

func (v factorsView) print(w io.Writer) error {
	if len(v.Factors) == 0 {
		_, err := fmt.Fprintf(w, "%s (%s) has no second factor or passkey\n", v.Email, v.UserID)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tNAME\tSTATUS\tCREATED\tCONFIRMED\tLAST_USED\tRECOVERY_CODES_LEFT")
	for _, f := range v.Factors {
		codes := "-"
		if f.RecoveryCodesLeft != nil {
			codes = fmt.Sprint(*f.RecoveryCodesLeft)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.ID, f.Kind, orDash(f.Name), f.Status, stamp(f.CreatedAt),
			stampPtr(f.ConfirmedAt), stampPtr(f.LastUsedAt), codes)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if v.LockedUntil != "" {
		fmt.Fprintf(w, "locked until %s (too many wrong codes)\n", v.LockedUntil)
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func stampPtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return stamp(*t)
}

func usersFactorsListCommand() verb {
	var ref userRef
	var asJSON bool
	v := newVerb("list --env ENV (--id ID | --email EMAIL) [--json]",
		"list a user's authenticator app (status, confirmed, last used, recovery codes left) and passkeys",
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
			f, err := s.ops.Factors(ctx, ref.slug, u.ID)
			if err != nil {
				return s.notFound(err, ref.slug, ref.String())
			}
			out := factorsView{UserID: u.ID, Email: u.Email, Factors: f.List}
			if !f.LockedUntil.IsZero() && f.LockedUntil.After(time.Now()) {
				out.LockedUntil = stamp(f.LockedUntil)
			}
			if asJSON {
				return printJSON(env.stdout, out)
			}
			return out.print(env.stdout)
		})
	userRefFlags(v.cmd, &ref)
	jsonFlag(v.cmd, &asJSON)
	return v
}

func usersFactorsRemoveCommand() verb {
	var ref userRef
	var factorID string
	var all, asJSON bool
	v := newVerb("remove --env ENV (--id ID | --email EMAIL) (--factor FACTOR_ID | --all) [--json]",
		"an operator's reset: remove one of a user's factors, or all of them (recovery codes go with the authenticator)", nil)
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
		var removed []string
		var pos int64
		if all {
			done, err := s.ops.ResetFactors(ctx, app.ResetFactors{Environment: ref.slug, UserID: u.ID}, operatorActor("users-factors-remove"))
			if err != nil {
				return s.notFound(err, ref.slug, "second factor or passkey of "+ref.String())
			}
			for _, f := range done.Removed {
				removed = append(removed, f.ID)
			}
			pos = done.Position
		} else {
			w, err := s.ops.RemoveFactor(ctx, app.RemoveFactor{Environment: ref.slug, UserID: u.ID, FactorID: factorID, ByOperator: true},
				operatorActor("users-factors-remove"))
			if err != nil {
				return s.notFound(err, ref.slug, fmt.Sprintf("factor %q of %s", factorID, ref))
			}
			removed, pos = []string{factorID}, w.Position
		}
		if asJSON {
			return printJSON(env.stdout, map[string]any{"user_id": u.ID, "email": u.Email, "removed": removed, "position": pos})
		}
		fmt.Fprintf(env.stdout, "removed %d factor(s) of %s (%s) in %s:", len(removed), u.Email, u.ID, ref.slug)
		for _, id := range removed {
			fmt.Fprintf(env.stdout, " %s", id)
		}
		fmt.Fprintln(env.stdout)
		return nil
	}
	userRefFlags(v.cmd, &ref)
	f := v.cmd.Flags()
	f.StringVar(&factorID, "factor", "", "the factor's id (paylent users factors list)")
	f.BoolVar(&all, "all", false, "remove every factor and passkey of the user")
	v.cmd.MarkFlagsOneRequired("factor", "all")
	v.cmd.MarkFlagsMutuallyExclusive("factor", "all")
	jsonFlag(v.cmd, &asJSON)
	return v
}
