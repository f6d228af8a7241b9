package domain

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// HexBytes is a byte string written as lower-case hex in JSON (hashes in envelopes).
type HexBytes []byte

// MarshalJSON writes the bytes as a hex string.
func (h HexBytes) MarshalJSON() ([]byte, error) {
	return json.Marshal(hex.EncodeToString(h))
}

// UnmarshalJSON reads a hex string.
func (h *HexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("hex bytes: %w", err)
	}
	v, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("hex bytes: %w", err)
	}
	*h = v
	return nil
}

// String is the hex form.
func (h HexBytes) String() string { return hex.EncodeToString(h) }
