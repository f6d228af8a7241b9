// Package pgtest gives each test its own fresh, migrated database on a real PostgreSQL
// server that the tests start themselves (package pgcluster), or on the server named by
// TEST_DATABASE_URL. A package that uses URL or Cluster calls Main from its TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// The schema is migrated once per test binary into the template database
// paylent_template; every URL is a CREATE DATABASE ... TEMPLATE copy of it, dropped when
// the test ends. Without PostgreSQL the tests fail: they never pass without a database.
package pgtest
