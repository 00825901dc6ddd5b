// Package basicauth checks HTTP Basic credentials the way SRS does, in
// constant time, against a plain or a bcrypt-hashed password.
//
// SRS's rules (and so ours): the Authorization header must be present and
// contain "Basic "; the text after its first occurrence is base64-decoded
// and must split on ':' into exactly two parts, the user name and the
// password. A missing header or wrong credentials are answered with a
// challenge (WWW-Authenticate: Basic); a malformed header is refused
// without one.
//
// A password of the form "bcrypt:<hash>" is compared with bcrypt. Because
// bcrypt is deliberately slow, credentials that verified once are
// remembered (by their SHA-256, never in clear) until the configuration
// changes, and at most one bcrypt comparison per CPU runs at a time so that
// a flood of bad guesses cannot starve the API.
package basicauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/bcrypt"
)

// HashPrefix marks a bcrypt-hashed password in the configuration.
const HashPrefix = "bcrypt:"

// Result is the outcome of a check.
type Result int

// The outcomes of Check.
const (
	// Allowed: the credentials are right.
	Allowed Result = iota
	// Challenge: refuse with 401 and WWW-Authenticate: Basic.
	Challenge
	// Refused: refuse with 401 and no challenge (malformed header).
	Refused
)

// maxCached bounds the verified-credentials cache.
const maxCached = 1024

type credentials struct {
	user     [32]byte // SHA-256 of the user name
	password [32]byte // SHA-256 of a plain password
	hash     []byte   // bcrypt hash, when the password is hashed

	mu       sync.Mutex
	verified map[[32]byte]struct{} // SHA-256 of "user:password" that passed bcrypt
}

// Checker holds the credentials; Set swaps them at run time.
type Checker struct {
	creds  atomic.Pointer[credentials]
	bcrypt chan struct{} // semaphore of concurrent bcrypt comparisons
}

// New makes a checker for one user.
func New(user, password string) *Checker {
	c := &Checker{bcrypt: make(chan struct{}, runtime.NumCPU())}
	c.Set(user, password)
	return c
}

// Set replaces the credentials; previously verified ones are forgotten.
func (c *Checker) Set(user, password string) {
	cr := &credentials{user: sha256.Sum256([]byte(user)), verified: map[[32]byte]struct{}{}}
	if h, ok := strings.CutPrefix(password, HashPrefix); ok {
		cr.hash = []byte(h)
	} else {
		cr.password = sha256.Sum256([]byte(password))
	}
	c.creds.Store(cr)
}

// ValidHash reports whether a configured password that carries HashPrefix
// holds a usable bcrypt hash.
func ValidHash(password string) bool {
	h, ok := strings.CutPrefix(password, HashPrefix)
	if !ok {
		return true
	}
	_, err := bcrypt.Cost([]byte(h))
	return err == nil
}

// Check judges an Authorization header value.
func (c *Checker) Check(header string) Result {
	if header == "" {
		return Challenge
	}
	_, token, ok := strings.Cut(header, "Basic ")
	if !ok || token == "" {
		return Refused
	}
	plain, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return Refused
	}
	parts := strings.Split(string(plain), ":")
	if len(parts) != 2 {
		return Refused
	}
	if c.matches(parts[0], parts[1]) {
		return Allowed
	}
	return Challenge
}

func (c *Checker) matches(user, password string) bool {
	cr := c.creds.Load()
	u := sha256.Sum256([]byte(user))
	userOK := subtle.ConstantTimeCompare(u[:], cr.user[:]) == 1
	if cr.hash == nil {
		p := sha256.Sum256([]byte(password))
		passOK := subtle.ConstantTimeCompare(p[:], cr.password[:]) == 1
		return userOK && passOK
	}
	key := sha256.Sum256([]byte(user + ":" + password))
	cr.mu.Lock()
	_, known := cr.verified[key]
	cr.mu.Unlock()
	if known {
		return true
	}
	// The hash is compared even for a wrong user name, so timing does not
	// tell whether the name exists.
	c.bcrypt <- struct{}{}
	passOK := bcrypt.CompareHashAndPassword(cr.hash, []byte(password)) == nil
	<-c.bcrypt
	if !userOK || !passOK {
		return false
	}
	cr.mu.Lock()
	if len(cr.verified) < maxCached {
		cr.verified[key] = struct{}{}
	}
	cr.mu.Unlock()
	return true
}
