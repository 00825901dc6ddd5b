package sysstats

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseProcStatRejectsMalformedLines(t *testing.T) {
	for name, line := range map[string]string{
		"empty":          "",
		"no comm":        "1 srs S 1 2 3",
		"no pid":         "(srs) S 1",
		"bad pid":        "x (srs) S 1",
		"too few fields": "1 (srs) S 1 2 3",
		"bad number":     "1 (srs) S " + strings.Repeat("1 ", 20) + "x " + strings.Repeat("1 ", 20),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseProcStat([]byte(line))
			assert.Error(t, err)
		})
	}
}

func TestParseUptime(t *testing.T) {
	up, idle, err := parseUptime([]byte("776.68 231.23\n"))
	require.NoError(t, err)
	assert.Equal(t, 776.68, up)
	assert.Equal(t, 231.23, idle)
	for _, bad := range []string{"", "1", "x 1", "1 x"} {
		_, _, err := parseUptime([]byte(bad))
		assert.Error(t, err, bad)
	}
}

func TestParseVMStatNeedsBothPagingLines(t *testing.T) {
	in, out, err := parseVMStat([]byte("nr_free_pages 3\npgpgin 10\npgpgout 20\n"))
	require.NoError(t, err)
	assert.Equal(t, [2]uint64{10, 20}, [2]uint64{in, out})
	for _, bad := range []string{"", "pgpgin 1\npgpgin 2\n", "pgpgin x\npgpgout 1\n"} {
		_, _, err := parseVMStat([]byte(bad))
		assert.Error(t, err, bad)
	}
}

// FuzzProcStat checks that any input parses or fails cleanly, and that a
// well-formed line with any comm round-trips.
func FuzzProcStat(f *testing.F) {
	f.Add("srs", int64(7), "")
	f.Add("a) (b", int64(-1), "1 (x) R "+strings.Repeat("0 ", 41))
	f.Add("", int64(0), "1 () S")
	f.Fuzz(func(t *testing.T, comm string, v int64, raw string) {
		if st, err := parseProcStat([]byte(raw)); err == nil {
			assert.True(t, strings.HasPrefix(st.Comm, "(") && strings.HasSuffix(st.Comm, ")"))
		}
		if strings.ContainsAny(comm, "\n") {
			return
		}
		values := strings.TrimSpace(strings.Repeat(fmt.Sprint(v)+" ", len(ProcStatFields)))
		line := fmt.Sprintf("42 (%s) S %s 99\n", comm, values)
		st, err := parseProcStat([]byte(line))
		require.NoError(t, err, line)
		assert.Equal(t, "("+comm+")", st.Comm)
		assert.Equal(t, int64(42), st.PID)
		assert.Equal(t, v, st.Values[len(st.Values)-1])
	})
}
