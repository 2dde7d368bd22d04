package tester

import (
	"crypto/rand"
	"encoding/base64"
)

// Randstring returns n random characters from the URL-safe base64 alphabet, used for unique end names and for
// bulky commands in the byte-budget test.
func Randstring(n int) string {
	b := make([]byte, 2*n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.URLEncoding.EncodeToString(b)[:n]
}
