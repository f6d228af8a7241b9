package eventstore_test

import (
	"testing"

	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/eventstore/storetest"
)

func TestMemoryConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) eventstore.Store { return eventstore.NewMemory() })
}
