package factor_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/factor"
	"github.com/paylent/paylent/domain/user"
)

var (
	now     = time.Date(2026, 12, 3, 12, 0, 10, 0, time.UTC)
	sealed  = factor.SealedPrefix + strings.Repeat("x", 60)
	ada     = []domain.Event{user.Created{UserID: "u1", Email: "ada@example.com"}}
	key     = factor.Key([]byte("a master key of thirty-two bytes"))
	codes   = recoveryHashes()
	pending = []domain.Event{factor.TOTPEnrolled{FactorID: "totp-0001", Secret: sealed, At: now.Add(-time.Minute)}}
	active  = plus(pending, factor.TOTPConfirmed{FactorID: "totp-0001", Step: factor.Step(now) - 2, RecoveryCodes: codes})
)

func recoveryHashes() []string {
	var out []string
	for i := range factor.RecoveryCodes {
		out = append(out, factor.RecoveryCodeHash(key, "e", "u1", "code-"+string(rune('a'+i))))
	}
	return out
}

func plus(h []domain.Event, more ...domain.Event) []domain.Event {
	return append(append([]domain.Event(nil), h...), more...)
}

// codeOf accepts the code of one step only.
func codeOf(step int64) factor.Check {
	return func(t time.Time) bool { return factor.Step(t) == step }
}

func decide(t *testing.T, cmd domain.Command, factors, usr []domain.Event) ([]domain.Event, error) {
	t.Helper()
	out, err := cmd.Decide([][]domain.Event{factors, usr}, now)
	if err != nil {
		return nil, err
	}
	if len(out) != 2 || out[1] != nil {
		t.Fatalf("a factor decision appends to the user's stream: %v", out)
	}
	return out[0], nil
}

func TestEnrolTOTP(t *testing.T) {
	cmd := factor.EnrolTOTP{Environment: "e", UserID: "u1", FactorID: "totp-0002", Secret: sealed}
	cases := []struct {
		name    string
		factors []domain.Event
		usr     []domain.Event
		cmd     factor.EnrolTOTP
		want    []domain.Event
		err     error
	}{
		{"first", nil, ada, cmd, []domain.Event{factor.TOTPEnrolled{FactorID: "totp-0002", Secret: sealed, At: now}}, nil},
		{"a pending one is replaced", pending, ada, cmd, []domain.Event{factor.TOTPEnrolled{FactorID: "totp-0002", Secret: sealed, At: now}}, nil},
		{"a confirmed one must be removed first", active, ada, cmd, nil, factor.ErrTOTPExists},
		{"a seed in clear", nil, ada, factor.EnrolTOTP{Environment: "e", UserID: "u1", FactorID: "totp-0002", Secret: "JBSWY3DPEHPK3PXP"}, nil, domain.ErrInvalid},
		{"a disabled user", nil, plus(ada, user.Disabled{}), cmd, nil, domain.ErrNotFound},
		{"no user", nil, nil, cmd, nil, domain.ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decide(t, tc.cmd, tc.factors, tc.usr)
			if !errors.Is(err, tc.err) || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v %v, want %v %v", got, err, tc.want, tc.err)
			}
			if err == nil {
				if s := factor.Fold(plus(tc.factors, got...)); s.TOTP.ID != "totp-0002" || s.HasSecondFactor() {
					t.Errorf("state %+v", s.TOTP)
				}
			}
		})
	}
}

func TestConfirmTOTP(t *testing.T) {
	cur := factor.Step(now)
	confirm := func(id string, check factor.Check, rc []string) factor.ConfirmTOTP {
		return factor.ConfirmTOTP{Environment: "e", UserID: "u1", FactorID: id, Check: check, RecoveryCodes: rc}
	}
	cases := []struct {
		name    string
		factors []domain.Event
		cmd     factor.ConfirmTOTP
		want    []domain.Event
		err     error
	}{
		{"the current code", pending, confirm("totp-0001", codeOf(cur), codes),
			[]domain.Event{factor.TOTPConfirmed{FactorID: "totp-0001", Step: cur, RecoveryCodes: codes, At: now}}, nil},
		{"the previous step's code (skew)", pending, confirm("totp-0001", codeOf(cur-1), codes),
			[]domain.Event{factor.TOTPConfirmed{FactorID: "totp-0001", Step: cur - 1, RecoveryCodes: codes, At: now}}, nil},
		{"a code two steps old", pending, confirm("totp-0001", codeOf(cur-2), codes),
			[]domain.Event{factor.CodeFailed{Kind: factor.KindTOTP, Reason: factor.FailureWrong, At: now}}, nil},
		{"another factor", pending, confirm("totp-9999", codeOf(cur), codes), nil, domain.ErrNotFound},
		{"already confirmed", active, confirm("totp-0001", codeOf(cur), codes), nil, domain.ErrNotFound},
		{"nine recovery codes", pending, confirm("totp-0001", codeOf(cur), codes[:9]), nil, domain.ErrInvalid},
		{"recovery codes in clear", pending, confirm("totp-0001", codeOf(cur), append(codes[:9:9], "abcd-efgh")), nil, domain.ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decide(t, tc.cmd, tc.factors, ada)
			if !errors.Is(err, tc.err) || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v %v, want %v %v", got, err, tc.want, tc.err)
			}
		})
	}
	s := factor.Fold(plus(pending, factor.TOTPConfirmed{FactorID: "totp-0001", Step: cur, RecoveryCodes: codes, At: now}))
	if !s.HasSecondFactor() || s.RecoveryCodesLeft() != 10 || s.TOTP.LastStep != cur {
		t.Errorf("confirmed state %+v, %d codes", s.TOTP, s.RecoveryCodesLeft())
	}
}

// A code is good once: the same step (or an older one) again is a replay, recorded as a
// failure; five failures in a row lock the factors, and a locked user records nothing.
func TestVerifyTOTPRefusesReplayAndLocks(t *testing.T) {
	cur := factor.Step(now)
	verify := func(check factor.Check) factor.VerifyTOTP {
		return factor.VerifyTOTP{Environment: "e", UserID: "u1", FactorID: "totp-0001", Check: check}
	}
	got, err := decide(t, verify(codeOf(cur)), active, ada)
	if err != nil || !reflect.DeepEqual(got, []domain.Event{factor.TOTPUsed{FactorID: "totp-0001", Step: cur, At: now}}) {
		t.Fatalf("a good code: %v %v", got, err)
	}
	used := plus(active, got...)
	got, err = decide(t, verify(codeOf(cur)), used, ada)
	if err != nil || !reflect.DeepEqual(got, []domain.Event{factor.CodeFailed{Kind: factor.KindTOTP, Reason: factor.FailureReplayed, At: now}}) {
		t.Fatalf("the same code again: %v %v", got, err)
	}
	got, _ = decide(t, verify(codeOf(cur-1)), used, ada)
	if got[0].(factor.CodeFailed).Reason != factor.FailureReplayed {
		t.Errorf("an older step's code after a newer one: %v", got)
	}
	if got, _ = decide(t, verify(codeOf(cur+1)), used, ada); got[0].EventType() != "factor.totp_used" {
		t.Errorf("the next step's code: %v", got)
	}
	failing := used
	for range user.LockoutAfter {
		got, _ := decide(t, verify(func(time.Time) bool { return false }), failing, ada)
		if got[0].(factor.CodeFailed).Reason != factor.FailureWrong {
			t.Fatalf("a wrong code: %v", got)
		}
		failing = plus(failing, got...)
	}
	if _, err := decide(t, verify(codeOf(cur+1)), failing, ada); !errors.Is(err, factor.ErrLocked) {
		t.Errorf("a locked user: %v", err)
	}
	if _, err := (factor.VerifyTOTP{Environment: "e", UserID: "u1", FactorID: "totp-0001", Check: codeOf(cur)}).Decide(
		[][]domain.Event{failing, ada}, now.Add(time.Minute+time.Second)); err != nil {
		t.Errorf("after the lock lapsed: %v", err)
	}
	if _, err := decide(t, verify(codeOf(cur)), pending, ada); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("a pending authenticator signs nobody in: %v", err)
	}
	if _, err := decide(t, verify(codeOf(cur+1)), used, plus(ada, user.Disabled{})); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("a disabled user: %v", err)
	}
}

func TestRecoveryCodesAreSingleUse(t *testing.T) {
	use := func(code string) factor.UseRecoveryCode {
		return factor.UseRecoveryCode{Environment: "e", UserID: "u1", CodeHash: factor.RecoveryCodeHash(key, "e", "u1", code)}
	}
	got, err := decide(t, use("CODE-A"), active, ada)
	if err != nil || got[0].EventType() != "factor.recovery_code_used" {
		t.Fatalf("a recovery code (typed in capitals): %v %v", got, err)
	}
	after := plus(active, got...)
	if s := factor.Fold(after); s.RecoveryCodesLeft() != 9 {
		t.Errorf("%d codes left", s.RecoveryCodesLeft())
	}
	if got, _ = decide(t, use("code-a"), after, ada); got[0].EventType() != "factor.code_failed" {
		t.Errorf("the same code again: %v", got)
	}
	if got, _ = decide(t, use("code-z"), after, ada); got[0].EventType() != "factor.code_failed" {
		t.Errorf("an unknown code: %v", got)
	}
	if got, _ = decide(t, factor.UseRecoveryCode{Environment: "e", UserID: "u1",
		CodeHash: factor.RecoveryCodeHash(key, "e", "u2", "code-b")}, after, ada); got[0].EventType() != "factor.code_failed" {
		t.Errorf("another user's hash of the same code: %v", got)
	}
}

func TestRemove(t *testing.T) {
	rm := factor.Remove{Environment: "e", UserID: "u1", FactorID: "totp-0001", Reason: factor.RemovedByOperator}
	got, err := decide(t, rm, active, plus(ada, user.Disabled{}))
	if err != nil || !reflect.DeepEqual(got, []domain.Event{factor.Removed{FactorID: "totp-0001", Kind: factor.KindTOTP,
		Reason: factor.RemovedByOperator, At: now}}) {
		t.Fatalf("remove: %v %v", got, err)
	}
	if s := factor.Fold(plus(active, got...)); s.HasSecondFactor() || s.TOTP != nil || s.RecoveryCodesLeft() != 0 {
		t.Errorf("after removal: %+v", s)
	}
	if _, err := decide(t, rm, nil, ada); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("nothing to remove: %v", err)
	}
	rm.Reason = "because"
	if _, err := decide(t, rm, active, ada); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("a made-up reason: %v", err)
	}
}
