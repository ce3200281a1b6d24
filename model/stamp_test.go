package model

import (
	"testing"
	"time"

	"pgregory.net/rapid"
)

// appendStamp writes what time.Format writes with the two layouts it
// stands for, for any instant of years -99999 to 99999, in any zone.
func TestAppendStampIsFormat(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		lo := time.Date(-99999, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
		hi := time.Date(99999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
		sec := rapid.Int64Range(lo, hi).Draw(t, "sec")
		nsec := rapid.Int64Range(0, 999_999_999).Draw(t, "nsec")
		zone := time.FixedZone("z", rapid.IntRange(-12, 14).Draw(t, "zone hours")*3600)
		at := time.Unix(sec, nsec).In(zone)

		if got, want := string(appendStamp(nil, at, ' ', ":", ".")), at.UTC().Format(LogTimeLayout); got != want {
			t.Fatalf("log stamp of %v = %q, want %q", at, got, want)
		}
		if got, want := string(appendStamp(nil, at, '/', "", "")), at.UTC().Format("2006-01-02/150405"); got != want {
			t.Fatalf("id stamp of %v = %q, want %q", at, got, want)
		}
	})
}
