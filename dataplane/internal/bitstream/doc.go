// Package bitstream reads and writes codec bitstream structures, whatever
// container or protocol carried them: H.264 and HEVC parameter sets and
// decoder configuration records, the AAC AudioSpecificConfig and ADTS
// header, and the AVCC (length-prefixed) and Annex-B (start-code) forms of
// NAL units.
//
// Every parser is written for hostile input: it returns an error, never
// panics.
package bitstream
