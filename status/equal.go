package status

import (
	"bytes"
	"encoding/json"
	"time"
)

// Equal reports whether two reports say the same, ignoring when they were computed. Conditions'
// lastTransitionTime is compared: Compute keeps it while a status holds.
func Equal(a, b *Report) bool {
	if a == nil || b == nil {
		return a == b
	}
	return bytes.Equal(canonical(a), canonical(b))
}

func canonical(r *Report) []byte {
	c := *r
	c.UpdatedAt = time.Time{}
	b, err := json.Marshal(&c)
	if err != nil {
		return nil
	}
	return b
}
