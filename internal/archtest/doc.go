// Package archtest holds the test that keeps the dependency direction between Paylent's
// packages true (see docs/ARCHITECTURE.md), so that a wrong import fails CI, not review.
package archtest
