//go:build !purego

#include "textflag.h"

// STOPS16(src, dst) sets every byte of dst whose byte in src is ', " or \
// or, taken as signed, less than the limit (X1, X2, X3, X4 as set up
// below); X6 is scratch. src is left as it was.
#define STOPS16(src, dst) \
	MOVO    src, dst \
	PCMPEQB X1, dst \
	MOVO    src, X6 \
	PCMPEQB X2, X6 \
	POR     X6, dst \
	MOVO    src, X6 \
	PCMPEQB X3, X6 \
	POR     X6, dst \
	MOVO    X4, X6 \
	PCMPGTB src, X6 \
	POR     X6, dst

// STOPSV(q, dq, bs, lim, src, dst, tmp) is STOPS16 in the VEX encoding
// (AVX2 on Y registers, 32 bytes; AVX on X registers, 16): q, dq and bs
// hold the three special bytes and lim the limit in every lane.
#define STOPSV(q, dq, bs, lim, src, dst, tmp) \
	VPCMPEQB q, src, dst \
	VPCMPEQB dq, src, tmp \
	VPOR     tmp, dst, dst \
	VPCMPEQB bs, src, tmp \
	VPOR     tmp, dst, dst \
	VPCMPGTB src, lim, tmp \
	VPOR     tmp, dst, dst

// func stopBlocks(p *byte, n int, lim int8) int
//
// Tests the whole 16-byte blocks of p[:n] with SSE2 (part of every amd64
// CPU), 64 bytes per step while it can and then 16, and returns the index of the first byte that
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
	MOVQ BX, R8
	ANDQ $~63, R8
	JZ   loop

	// Four blocks per step, their stops gathered in X7; a step with a
	// stop is gone over again by the one-block loop, which finds it.
loop64:
	MOVOU (SI)(CX*1), X0
	STOPS16(X0, X7)
	MOVOU 16(SI)(CX*1), X0
	STOPS16(X0, X5)
	POR   X5, X7
	MOVOU 32(SI)(CX*1), X0
	STOPS16(X0, X5)
	POR   X5, X7
	MOVOU 48(SI)(CX*1), X0
	STOPS16(X0, X5)
	POR   X5, X7
	PMOVMSKB X7, DX
	TESTL    DX, DX
	JNZ      loop
	ADDQ     $64, CX
	CMPQ     CX, R8
	JB       loop64
	CMPQ     CX, BX
	JAE      none

loop:
	MOVOU    (SI)(CX*1), X0
	STOPS16(X0, X5)
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

// func stopBlocksAVX2(p *byte, n int, lim int8) int
//
// stopBlocks with AVX2: 64 bytes per step while it can, then 16 (with the
// VEX forms of the SSE2 instructions, to stay in one register state).
TEXT ·stopBlocksAVX2(SB), NOSPLIT, $0-32
	MOVQ    p+0(FP), SI
	MOVQ    n+8(FP), BX
	MOVBQZX lim+16(FP), AX

	// Y1, Y2, Y3: the three special bytes in every lane; Y4: lim.
	MOVL         $0x27, DX
	MOVQ         DX, X1
	VPBROADCASTB X1, Y1
	MOVL         $0x22, DX
	MOVQ         DX, X2
	VPBROADCASTB X2, Y2
	MOVL         $0x5c, DX
	MOVQ         DX, X3
	VPBROADCASTB X3, Y3
	MOVQ         AX, X4
	VPBROADCASTB X4, Y4

	XORQ CX, CX
	ANDQ $~15, BX
	JZ   avxnone
	MOVQ BX, R8
	ANDQ $~63, R8
	JZ   avxloop16

avxloop64:
	VMOVDQU (SI)(CX*1), Y0
	STOPSV(Y1, Y2, Y3, Y4, Y0, Y6, Y7)
	VMOVDQU 32(SI)(CX*1), Y5
	STOPSV(Y1, Y2, Y3, Y4, Y5, Y8, Y9)
	VPOR    Y8, Y6, Y9
	VPTEST   Y9, Y9
	JNZ      avxfound64
	ADDQ     $64, CX
	CMPQ     CX, R8
	JB       avxloop64
	CMPQ     CX, BX
	JAE      avxnone

avxloop16:
	VMOVDQU   (SI)(CX*1), X0
	STOPSV(X1, X2, X3, X4, X0, X6, X7)
	VPMOVMSKB X6, DX
	TESTL    DX, DX
	JNZ      avxfound
	ADDQ     $16, CX
	CMPQ     CX, BX
	JB       avxloop16

avxnone:
	VZEROUPPER
	MOVQ CX, ret+24(FP)
	RET

avxfound64:
	VPMOVMSKB Y6, DX
	TESTL     DX, DX
	JNZ       avxfound
	VPMOVMSKB Y8, DX
	ADDQ      $32, CX

avxfound:
	VZEROUPPER
	BSFL DX, DX
	ADDQ DX, CX
	MOVQ CX, ret+24(FP)
	RET

// func cpuAVX2() bool
TEXT ·cpuAVX2(SB), NOSPLIT, $0-1
	// Leaf 7 must exist.
	XORL  AX, AX
	XORL  CX, CX
	CPUID
	CMPL  AX, $7
	JB    noavx2

	// Leaf 1: OSXSAVE (ECX bit 27) and AVX (bit 28).
	MOVL  $1, AX
	XORL  CX, CX
	CPUID
	ANDL  $0x18000000, CX
	CMPL  CX, $0x18000000
	JNE   noavx2

	// XCR0: the OS saves the SSE (bit 1) and AVX (bit 2) state.
	XORL   CX, CX
	XGETBV
	ANDL   $6, AX
	CMPL   AX, $6
	JNE    noavx2

	// Leaf 7, subleaf 0: AVX2 (EBX bit 5).
	MOVL  $7, AX
	XORL  CX, CX
	CPUID
	BTL   $5, BX
	JCC   noavx2
	MOVB  $1, ret+0(FP)
	RET

noavx2:
	MOVB $0, ret+0(FP)
	RET
