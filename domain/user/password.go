package user

import (
	"strings"
	"unicode/utf8"

	"github.com/paylent/paylent/domain"
)

// MinPasswordLength is the shortest password accepted for a new account.
const MinPasswordLength = 10

// commonPasswords are refused whatever their length (a short list of the most used ones
// that pass the length rule; the point is to stop the obvious).
var commonPasswords = map[string]bool{}

func init() {
	for _, p := range strings.Fields(`password12 password123 password1234 1234567890 0123456789 12345678910
		qwertyuiop qwerty1234 qwerty12345 1q2w3e4r5t 1qaz2wsx3edc iloveyou12 iloveyou123 abcdefghij
		abc1234567 letmein123 welcome123 welcome1234 admin12345 administrator passw0rd123 p@ssw0rd123
		p@ssword123 changeme123 football123 baseball123 sunshine123 princess123 dragon1234 monkey1234
		trustno1234 starwars123 whatever123 superman123 1111111111 0000000000 9876543210 aaaaaaaaaa
		zaq12wsxcde qazwsxedcrfv asdfghjkl1 zxcvbnm123 michael123 jennifer123 computer123 internet123
		password! passwordpassword correcthorse`) {
		commonPasswords[p] = true
	}
}

// ValidatePassword checks a new password: long enough, not too long, not one of the most
// common ones, and not the email address.
func ValidatePassword(password, email string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinPasswordLength:
		return domain.Invalid("password", "must be at least %d characters", MinPasswordLength)
	case len(password) > 1024:
		return domain.Invalid("password", "must be at most 1024 bytes")
	case commonPasswords[strings.ToLower(password)]:
		return domain.Invalid("password", "is one of the most common passwords; choose another")
	case strings.EqualFold(password, email) || strings.EqualFold(password, strings.Split(email, "@")[0]):
		return domain.Invalid("password", "must not be your email address")
	}
	return nil
}
