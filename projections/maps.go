package projections

// Inner returns m[key], creating it when missing: read models keep per-environment maps.
func Inner[V any](m map[string]map[string]V, key string) map[string]V {
	in, ok := m[key]
	if !ok {
		in = map[string]V{}
		m[key] = in
	}
	return in
}
