package basicauth

import (
	"encoding/base64"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func basic(userpass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(userpass))
}

func TestCheckFollowsSRSsRules(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("admin"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"admin", HashPrefix + string(hash)} {
		c := New("admin", pw)
		for _, tc := range []struct {
			name   string
			header string
			want   Result
		}{
			{"right credentials are allowed", basic("admin:admin"), Allowed},
			{"a missing header is challenged", "", Challenge},
			{"a wrong password is challenged", basic("admin:nope"), Challenge},
			{"a wrong user is challenged", basic("root:admin"), Challenge},
			{"a header without Basic is refused without challenge", "Bearer abc", Refused},
			{"an empty token is refused without challenge", "Basic ", Refused},
			{"invalid base64 is refused without challenge", "Basic !!!", Refused},
			{"no colon is refused without challenge", basic("adminadmin"), Refused},
			{"two colons are refused without challenge", basic("admin:ad:min"), Refused},
			{"Basic may appear after other text, as SRS finds it by substring", "xBasic " + base64.StdEncoding.EncodeToString([]byte("admin:admin")), Allowed},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := c.Check(tc.header); got != tc.want {
					t.Fatalf("Check(%q) = %v, want %v", tc.header, got, tc.want)
				}
			})
		}
	}
}

func TestSetReplacesCredentialsAndForgetsVerifiedOnes(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("one"), bcrypt.MinCost)
	c := New("u", HashPrefix+string(hash))
	if c.Check(basic("u:one")) != Allowed {
		t.Fatal("hashed password refused")
	}
	c.Set("u", "two")
	if c.Check(basic("u:one")) == Allowed {
		t.Fatal("old credentials still allowed after Set")
	}
	if c.Check(basic("u:two")) != Allowed {
		t.Fatal("new credentials refused after Set")
	}
}

func TestValidHashRejectsABrokenHash(t *testing.T) {
	if ValidHash(HashPrefix + "not-a-hash") {
		t.Fatal("a broken bcrypt hash passed")
	}
	if !ValidHash("plain") {
		t.Fatal("a plain password was judged a broken hash")
	}
}

// The verified-credentials cache keeps a hashed password nearly as cheap as
// a plain one; compare the two benchmarks.
func BenchmarkCheckPlain(b *testing.B) {
	c := New("admin", "admin")
	h := basic("admin:admin")
	for b.Loop() {
		if c.Check(h) != Allowed {
			b.Fatal("refused")
		}
	}
}

func BenchmarkCheckHashed(b *testing.B) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("admin"), bcrypt.DefaultCost)
	c := New("admin", HashPrefix+string(hash))
	h := basic("admin:admin")
	for b.Loop() {
		if c.Check(h) != Allowed {
			b.Fatal("refused")
		}
	}
}

func FuzzCheck(f *testing.F) {
	f.Add("Basic YWRtaW46YWRtaW4=")
	f.Add("")
	f.Add("Basic ")
	f.Add("Basic !!")
	c := New("admin", "admin")
	f.Fuzz(func(t *testing.T, header string) {
		r := c.Check(header)
		if r != Allowed && r != Challenge && r != Refused {
			t.Fatalf("unknown result %d", r)
		}
	})
}
