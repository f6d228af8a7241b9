// Package signingkey is the signing key aggregate: an environment's RSA keys (RS256) for
// tokens, one primary that signs, one next that is published ahead of its promotion, and
// retired keys that stay verifiable until every token they signed has expired. Each
// environment has one stream of keys, signing_key/<environment>.
//
// The aggregate is pure. Key material is generated outside (workers) and arrives in commands
// already sealed with the master key (Seal): no private key ever enters an event in clear.
package signingkey
