//go:build !purego

#include "textflag.h"

// func stopBlocks(p *byte, n int, lim int8) int
//
// Tests the whole 16-byte blocks of p[:n], 16 bytes per step with SSE2
// (part of every amd64 CPU), and returns the index of the first byte that
// is ', " or \ or that, taken as a signed byte, is less than lim; or, when
// there is none, n rounded down to a multiple of 16. It reads nothing past
// that multiple.
TEXT ·stopBlocks(SB), NOSPLIT, $0-32
	MOVQ    p+0(FP), SI
	MOVQ    n+8(FP), BX
	MOVBQZX lim+16(FP), AX

	// X1, X2, X3: the three special bytes in every lane; X4: lim.
	MOVQ       $0x2727272727272727, DX
	MOVQ       DX, X1
	PUNPCKLQDQ X1, X1
	MOVQ       $0x2222222222222222, DX
	MOVQ       DX, X2
	PUNPCKLQDQ X2, X2
	MOVQ       $0x5c5c5c5c5c5c5c5c, DX
	MOVQ       DX, X3
	PUNPCKLQDQ X3, X3
	MOVQ       $0x0101010101010101, DX
	IMULQ      DX, AX
	MOVQ       AX, X4
	PUNPCKLQDQ X4, X4

	XORQ CX, CX
	ANDQ $~15, BX
	JZ   none

loop:
	MOVOU   (SI)(CX*1), X0
	MOVO    X0, X5
	PCMPEQB X1, X5
	MOVO    X0, X6
	PCMPEQB X2, X6
	POR     X6, X5
	MOVO    X0, X6
	PCMPEQB X3, X6
	POR     X6, X5
	MOVO    X4, X6
	PCMPGTB X0, X6 // X6 = lim > X0, signed, per byte
	POR     X6, X5
	PMOVMSKB X5, DX
	TESTL   DX, DX
	JNZ     found
	ADDQ    $16, CX
	CMPQ    CX, BX
	JB      loop

none:
	MOVQ CX, ret+24(FP)
	RET

found:
	BSFL DX, DX
	ADDQ DX, CX
	MOVQ CX, ret+24(FP)
	RET
