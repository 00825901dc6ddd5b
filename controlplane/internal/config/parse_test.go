package config

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
)

// render prints a tree compactly: name[args]; or name[args]{...}.
func render(ds []*Directive) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "%s%q", d.Name, d.Args)
		if d.HasBlock {
			fmt.Fprintf(&b, "{%s}", render(d.Block))
		} else {
			b.WriteString(";")
		}
	}
	return b.String()
}

type grammarCase struct {
	name string
	src  string
	want string // rendered tree, when the source is valid
	err  string // error text, prefixed with t.conf:line, when it is not
}

var grammarCases = []grammarCase{
	{name: "an empty file has no directives", src: "", want: ""},
	{name: "a file of comments and blank lines has no directives", src: "# a\n\n  # b\r\n", want: ""},
	{name: "a directive ends at a semicolon", src: "listen 1935;", want: `listen["1935"];`},
	{name: "a directive may have several arguments", src: "listen 1935 1936;", want: `listen["1935" "1936"];`},
	{name: "a directive may have no arguments", src: "daemon;", want: `daemon[];`},
	{name: "tabs and CR separate words", src: "listen\t1935\r;", want: `listen["1935"];`},
	{name: "a semicolon ends a word without a space", src: "a b;c d;", want: `a["b"];c["d"];`},
	{name: "a brace ends a word without a space", src: "vhost x{a b;}", want: `vhost["x"]{a["b"];}`},
	{name: "a block holds directives", src: "http_api {\n  enabled on;\n  listen 1985;\n}\n", want: `http_api[]{enabled["on"];listen["1985"];}`},
	{name: "an empty block is allowed", src: "a {}", want: `a[]{}`},
	{name: "blocks nest", src: "a { b { c d; } e; }", want: `a[]{b[]{c["d"];}e[];}`},
	{name: "a comment runs to the end of the line", src: "a b; # c d;\ne f;", want: `a["b"];e["f"];`},
	{name: "a comment may follow a word directly after a separator", src: "a b;#c\n", want: `a["b"];`},
	{name: "a hash inside a word is literal", src: "listen 19#35;", want: `listen["19#35"];`},
	{name: "double quotes keep spaces", src: `password "a b; {c}";`, want: `password["a b; {c}"];`},
	{name: "single quotes keep spaces", src: `password 'a "b"';`, want: `password["a \"b\""];`},
	{name: "an empty quoted word is kept", src: `password "";`, want: `password[""];`},
	{name: "a quoted name is a name", src: `"vhost" x {}`, want: `vhost["x"]{}`},
	{name: "a quote inside a word is literal", src: `a b"c';`, want: `a["b\"c'"];`},
	{name: "a closing brace inside a word is literal", src: `a b};`, want: `a["b}"];`},
	{name: "a closing quote may be followed by a brace", src: `vhost "x"{}`, want: `vhost["x"]{}`},
	{name: "CRLF line endings are whitespace", src: "a b;\r\nc {\r\n d e;\r\n}\r\n", want: `a["b"];c[]{d["e"];}`},

	{name: "a lone semicolon is an empty directive", src: "listen 1;\n;", err: `t.conf:2: unexpected ";" (empty directive)`},
	{name: "a stray closing brace at top level is an error", src: "listen 1;\n}\n", err: `t.conf:2: unexpected "}" (no block to close)`},
	{name: "a block without a name is an error", src: "\n{ a b; }", err: `t.conf:2: unexpected "{" (block without a name)`},
	{name: "end of file inside a block is an error at the block", src: "a 1;\nvhost x {\n  enabled on;\n", err: `t.conf:2: directive "vhost": block is not closed`},
	{name: "end of file inside a nested block names its path", src: "vhost x {\n play {\n", err: `t.conf:2: directive "vhost.play": block is not closed`},
	{name: "a missing semicolon before a closing brace is an error", src: "vhost x {\n enabled on }\n", err: `t.conf:2: directive "enabled": unexpected "}", expecting ";"`},
	{name: "an unterminated double quote is an error", src: "a 1;\npassword \"abc;\n", err: `t.conf:2: unterminated quote '"'`},
	{name: "an unterminated single quote at end of file is an error", src: "password 'abc", err: `t.conf:1: unterminated quote '\''`},
	{name: "a closing quote followed by a letter is an error", src: `a "b"c;`, err: `t.conf:1: unexpected 'c' after closing quote`},
	{name: "a directive split before its semicolon is an error", src: "listen 1935\n;", err: `t.conf:1: directive "listen": unexpected end of line`},
	{name: "a directive split after its name is an error", src: "\nlisten\n1935;", err: `t.conf:2: directive "listen": unexpected end of line`},
	{name: "a block brace on the next line is an error", src: "vhost x\n{\n}\n", err: `t.conf:1: directive "vhost": unexpected end of line`},
	{name: "a missing semicolon at end of file is an error", src: "a 1;\nlisten 1935", err: `t.conf:2: directive "listen": unexpected end of file`},
	{name: "an empty directive name is an error", src: `"" x;`, err: `t.conf:1: empty directive name`},
	{name: "include takes no block", src: "include a {}", err: `t.conf:1: directive "include": takes no block`},
	{name: "include needs a file", src: "a {\n include;\n}", err: `t.conf:2: directive "include": requires at least one file`},
	{name: "blocks nested too deeply are an error", src: strings.Repeat("a {", maxBlockDepth+1), err: `t.conf:1: directive "` + strings.Repeat("a.", maxBlockDepth) + `a": blocks nested deeper than 32`},
}

func TestParseGrammar(t *testing.T) {
	for _, tc := range grammarCases {
		t.Run(tc.name, func(t *testing.T) {
			root, err := Parse("t.conf", []byte(tc.src), ParseOptions{ReadFile: noFiles})
			if tc.err != "" {
				assertError(t, err, tc.err)
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := render(root.Block); got != tc.want {
				t.Errorf("tree = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestParseRecordsFileAndLine(t *testing.T) {
	root, err := Parse("t.conf", []byte("a 1;\n\nb {\n  c 2;\n}\n"), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := root.Block[1].Block[0]
	if c.File != "t.conf" || c.Line != 4 || root.Block[1].Line != 3 {
		t.Errorf("positions: b at %d, c at %s:%d", root.Block[1].Line, c.File, c.Line)
	}
}

func TestParseRejectsAFileLargerThan4MiB(t *testing.T) {
	src := []byte("# " + strings.Repeat("x", maxFileSize))
	_, err := Parse("big.conf", src, ParseOptions{})
	assertError(t, err, "big.conf: file is larger than 4194304 bytes")
}

// memFS is an in-memory file system for include tests.
type memFS map[string]string

func (m memFS) read(name string) ([]byte, error) {
	s, ok := m[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return []byte(s), nil
}

func noFiles(name string) ([]byte, error) { return memFS{}.read(name) }

func TestParseIncludes(t *testing.T) {
	chain := memFS{"main.conf": "include f1.conf;"}
	for i := 1; i <= 9; i++ {
		chain[fmt.Sprintf("f%d.conf", i)] = fmt.Sprintf("include f%d.conf;", i+1)
	}
	chain["f10.conf"] = "a b;"

	cases := []struct {
		name, base, want, err string
		files                 memFS
	}{
		{
			name:  "an include at top level is spliced in place",
			files: memFS{"main.conf": "a 1;\ninclude b.conf c.conf;\nd 4;", "b.conf": "b 2;", "c.conf": "c 3;"},
			want:  `a["1"];b["2"];c["3"];d["4"];`,
		},
		{
			name:  "an include inside a block is spliced into the block",
			files: memFS{"main.conf": "http_api {\n include auth.conf;\n}", "auth.conf": "auth { enabled on; }\nlisten 1985;"},
			want:  `http_api[]{auth[]{enabled["on"];}listen["1985"];}`,
		},
		{
			name:  "includes nest",
			files: memFS{"main.conf": "include a.conf;", "a.conf": "v { include b.conf; }", "b.conf": "w 1;"},
			want:  `v[]{w["1"];}`,
		},
		{
			name:  "relative paths resolve against the base directory",
			base:  "/etc/srs",
			files: memFS{"/etc/srs/main.conf": "include sub/a.conf /abs.conf;", "/etc/srs/sub/a.conf": "a 1;", "/abs.conf": "b 2;"},
			want:  `a["1"];b["2"];`,
		},
		{
			name:  "an included file may include the same file twice in sequence",
			files: memFS{"main.conf": "include a.conf a.conf;", "a.conf": "a 1;"},
			want:  `a["1"];a["1"];`,
		},
		{
			name:  "a missing include is a file-open error at the include",
			files: memFS{"main.conf": "a 1;\ninclude nope.conf;"},
			err:   `main.conf:2: directive "include": cannot read "nope.conf": file does not exist`,
		},
		{
			name:  "a file including itself is a cycle",
			files: memFS{"main.conf": "include ./main.conf;"},
			err:   `main.conf:1: directive "include": include cycle: "./main.conf" includes itself`,
		},
		{
			name:  "a longer include cycle is reported where it closes",
			files: memFS{"main.conf": "include a.conf;", "a.conf": "x {\n include b.conf;\n}", "b.conf": "\n\ninclude main.conf;"},
			err:   `b.conf:3: directive "include": include cycle`,
		},
		{
			name:  "includes nested deeper than 8 are an error",
			files: chain,
			err:   `f8.conf:1: directive "include": includes nested deeper than 8`,
		},
		{
			name:  "a closing brace in an included file never closes the includer's block",
			files: memFS{"main.conf": "a {\n include b.conf;\n}", "b.conf": "x 1;\n}"},
			err:   `b.conf:2: unexpected "}" (no block to close)`,
		},
		{
			name:  "an included file must close its own blocks",
			files: memFS{"main.conf": "include b.conf;\n}", "b.conf": "a {\n"},
			err:   `b.conf:1: directive "a": block is not closed`,
		},
		{
			name:  "errors in an included file name that file",
			files: memFS{"main.conf": "a 1;\ninclude b.conf;", "b.conf": "\n\nlisten 1\n;"},
			err:   `b.conf:3: directive "listen": unexpected end of line`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := "main.conf"
			if tc.base != "" {
				file = tc.base + "/main.conf"
			}
			src, _ := tc.files.read(file)
			root, err := Parse(file, src, ParseOptions{BaseDir: tc.base, ReadFile: tc.files.read})
			if tc.err != "" {
				assertError(t, err, tc.err)
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := render(root.Block); got != tc.want {
				t.Errorf("tree = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestParseMissingIncludeHasFileOpenCode(t *testing.T) {
	_, err := Parse("main.conf", []byte("include nope.conf;"), ParseOptions{ReadFile: noFiles})
	e, ok := errors.AsType[*Error](err)
	if !ok || e.Code() != CodeFileOpen || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want a *Error with code 1042 wrapping fs.ErrNotExist", err)
	}
}

func TestParseLimitsTheNumberOfIncludedFiles(t *testing.T) {
	files := memFS{"e.conf": "", "main.conf": "include" + strings.Repeat(" e.conf", maxIncludes+1) + ";"}
	_, err := Parse("main.conf", []byte(files["main.conf"]), ParseOptions{ReadFile: files.read})
	assertError(t, err, `main.conf:1: directive "include": more than 256 included files`)
}

func TestParseLimitsTheTotalSizeWithIncludes(t *testing.T) {
	big := "# " + strings.Repeat("x", maxFileSize-10) + "\n"
	files := memFS{"big.conf": big, "main.conf": "include big.conf big.conf big.conf big.conf;"}
	_, err := Parse("main.conf", []byte(files["main.conf"]), ParseOptions{ReadFile: files.read})
	assertError(t, err, "big.conf: configuration with its includes is larger than 16777216 bytes")
}

func TestParseReadsIncludesFromDisk(t *testing.T) {
	root, err := Parse("testdata/include/main.conf", []byte("include include/http.conf;"), ParseOptions{BaseDir: "testdata"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := render(root.Block), `http_api[]{enabled["on"];auth[]{enabled["on"];username["admin"];password["admin"];}}`; got != want {
		t.Errorf("tree = %s, want %s", got, want)
	}
}

// assertError checks that err is a *Error whose text starts with want.
func assertError(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	if _, ok := errors.AsType[*Error](err); !ok {
		t.Fatalf("error %T is not a *config.Error: %v", err, err)
	}
	if !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error = %q\nwant prefix %q", err.Error(), want)
	}
}
