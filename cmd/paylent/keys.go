package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/signingkey"
)

// keyView is a signing key as the CLI prints it: never any key material.
type keyView struct {
	KID         string          `json:"kid"`
	Alg         string          `json:"alg"`
	Role        signingkey.Role `json:"role"`
	VerifyUntil *time.Time      `json:"verify_until,omitempty"`
}

func keysRotateCommand() verb {
	var slug string
	var asJSON bool
	v := newVerb("rotate --env ENV [--json]", "replace the primary signing key",
		func(ctx context.Context, env *cliEnv) error { return keysRotate(ctx, env, slug, asJSON) })
	v.cmd.Flags().StringVar(&slug, "env", "", "environment whose primary signing key to replace")
	v.cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	required(v.cmd, "env")
	return v
}

func keysRotate(ctx context.Context, env *cliEnv, slug string, asJSON bool) error {
	key, err := masterKey(env.cfg)
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, env.cfg, env.log)
	if err != nil {
		return err
	}
	defer db.close()
	// ID tokens live as long as access tokens: the operation retires the old primary for that long.
	res, err := operations(env, db, key).RotateKeys(ctx, app.RotateKeys{Environment: slug}, operatorActor("keys-rotate"))
	if errors.Is(err, domain.ErrNotFound) {
		return fmt.Errorf("environment %q does not exist", slug)
	}
	if err != nil {
		return err
	}
	out := map[string]any{"environment": slug, "position": res.Position, "primary": res.Primary, "next": res.Next}
	if res.Retired != "" {
		out["retired"], out["verify_until"] = res.Retired, res.VerifyUntil
	}
	if asJSON {
		return json.NewEncoder(env.stdout).Encode(out)
	}
	fmt.Fprintf(env.stdout, "rotated the signing keys of %s\n  primary: %s\n  next:    %s\n", slug, out["primary"], out["next"])
	if until, ok := out["verify_until"].(time.Time); ok {
		fmt.Fprintf(env.stdout, "  retired: %s (in JWKS until %s)\n", out["retired"], until.Format(time.RFC3339))
	}
	return nil
}

func keysListCommand() verb {
	var slug string
	var asJSON bool
	v := newVerb("list --env ENV [--json]", "list the signing keys (never key material)",
		func(ctx context.Context, env *cliEnv) error { return keysList(ctx, env, slug, asJSON) })
	v.cmd.Flags().StringVar(&slug, "env", "", "environment whose signing keys to list")
	v.cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	required(v.cmd, "env")
	return v
}

func keysList(ctx context.Context, env *cliEnv, slug string, asJSON bool) error {
	db, err := openDatabase(ctx, env.cfg, env.log)
	if err != nil {
		return err
	}
	defer db.close()
	if _, err := environmentSettings(ctx, db, slug); err != nil {
		return err
	}
	history, err := readHistory(ctx, db, signingkey.Stream(slug))
	if err != nil {
		return err
	}
	list := keyViews(signingkey.Fold(history))
	if asJSON {
		return json.NewEncoder(env.stdout).Encode(map[string]any{"environment": slug, "keys": list})
	}
	if len(list) == 0 {
		fmt.Fprintf(env.stdout, "environment %s has no signing keys yet (a running server creates them)\n", slug)
		return nil
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tROLE\tVERIFY UNTIL")
	for _, k := range list {
		until := "-"
		if k.VerifyUntil != nil {
			until = k.VerifyUntil.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.KID, k.Alg, k.Role, until)
	}
	return tw.Flush()
}

// keyViews lists the keys primary first, then next, then retired (latest first).
func keyViews(st signingkey.State) []keyView {
	rank := map[signingkey.Role]int{signingkey.RolePrimary: 0, signingkey.RoleNext: 1, signingkey.RoleRetired: 2}
	list := make([]keyView, 0, len(st.Keys))
	for _, k := range st.Keys {
		v := keyView{KID: k.KID, Alg: k.Alg, Role: k.Role}
		if k.Role == signingkey.RoleRetired {
			until := k.VerifyUntil
			v.VerifyUntil = &until
		}
		list = append(list, v)
	}
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if rank[a.Role] != rank[b.Role] {
			return rank[a.Role] < rank[b.Role]
		}
		if a.VerifyUntil != nil && b.VerifyUntil != nil && !a.VerifyUntil.Equal(*b.VerifyUntil) {
			return a.VerifyUntil.After(*b.VerifyUntil)
		}
		return a.KID < b.KID
	})
	return list
}

// environmentSettings reads an environment's settings from its stream.
func environmentSettings(ctx context.Context, db *database, slug string) (environment.Settings, error) {
	history, err := readHistory(ctx, db, environment.Stream(slug))
	if err != nil {
		return environment.Settings{}, err
	}
	st := environment.Fold(history)
	if !st.Exists {
		return environment.Settings{}, fmt.Errorf("environment %q does not exist", slug)
	}
	return st.Settings, nil
}

// readHistory reads and decodes one stream.
func readHistory(ctx context.Context, db *database, ref domain.StreamRef) ([]domain.Event, error) {
	envs, err := db.store.ReadStream(ctx, ref.Stream)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", ref.Stream, err)
	}
	history := make([]domain.Event, 0, len(envs))
	for _, e := range envs {
		rec, err := db.registry.DecodeEnvelope(e)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", ref.Stream, err)
		}
		history = append(history, rec.Event)
	}
	return history, nil
}
