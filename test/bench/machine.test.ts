import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allowedCores, parseCpuInfo } from '../../bench/_machine.js';

/** Two processors of an AVX-512 Intel server as a guest (fields abridged, flags in kernel order). */
const intelServer = `processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 143
model name\t: Intel(R) Xeon(R) Platinum 8480+
stepping\t: 8
flags\t\t: fpu vme de pse tsc msr sse sse2 ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt avx f16c rdrand hypervisor avx2 bmi2 avx512f avx512dq avx512cd avx512bw avx512vl avx_vnni avx512_bf16 avx512vbmi avx512_vnni avx512_fp16 amx_tile amx_int8
vmx flags\t: vnmi preemption_timer invvpid ept_x_only
bugs\t\t: spectre_v1 spectre_v2

processor\t: 1
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 143
model name\t: Intel(R) Xeon(R) Platinum 8480+
stepping\t: 8
flags\t\t: fpu vme de pse tsc msr sse sse2 ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt avx f16c rdrand hypervisor avx2 bmi2 avx512f avx512dq avx512cd avx512bw avx512vl avx_vnni avx512_bf16 avx512vbmi avx512_vnni avx512_fp16 amx_tile amx_int8
`;

/** An AVX2 desktop on bare metal: no `hypervisor` flag, no AVX-512. */
const amdDesktop = `processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 23
model\t\t: 113
model name\t: AMD Ryzen 7 3700X 8-Core Processor
stepping\t: 0
flags\t\t: fpu sse sse2 ssse3 fma cx16 sse4_1 sse4_2 popcnt aes xsave avx f16c avx2 sha_ni

processor\t: 1
model name\t: AMD Ryzen 7 3700X 8-Core Processor
flags\t\t: fpu sse sse2 ssse3 fma cx16 sse4_1 sse4_2 popcnt aes xsave avx f16c avx2 sha_ni

processor\t: 2
model name\t: AMD Ryzen 7 3700X 8-Core Processor
flags\t\t: fpu sse sse2 ssse3 fma cx16 sse4_1 sse4_2 popcnt aes xsave avx f16c avx2 sha_ni
`;

/** A 64-bit Arm server (Neoverse-N1, as in AWS Graviton2): no model name, the part number says it. */
const neoverseN1 = `processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x3
CPU part\t: 0xd0c
CPU revision\t: 1

processor\t: 1
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x3
CPU part\t: 0xd0c
CPU revision\t: 1
`;

/** A Neoverse-V1 (Graviton3) with SVE, and a part not in the table. */
const sveUnknownPart = `processor\t: 0
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics asimddp sve i8mm bf16 sve2
CPU implementer\t: 0x41
CPU part\t: 0xfff
`;

/** A 32-bit Arm board: `model name` and `neon`, the board in `Hardware` after the processors. */
const armv7Board = `processor\t: 0
model name\t: ARMv7 Processor rev 4 (v7l)
Features\t: half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt vfpd32 lpae evtstrm crc32

Hardware\t: BCM2835
Revision\t: a02082
`;

test('an AVX-512 server: its model, cpuid numbers, every listed SIMD extension in order, and that it is a guest', () => {
  const cpu = parseCpuInfo(intelServer);
  assert.equal(cpu.model, 'Intel(R) Xeon(R) Platinum 8480+');
  assert.equal(cpu.architecture, 'x86');
  assert.equal(cpu.cpuid, 'family 6 model 143 stepping 8');
  assert.deepEqual(cpu.simd, ['sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx512_bf16', 'avx512_fp16', 'avx_vnni', 'amx_tile']);
  assert.equal(cpu.logicalCpus, 2);
  assert.equal(cpu.virtualised, true);
});

test('the `vmx flags` line is not taken for the flags', () => {
  // vmx flags comes after flags here; put it first and the flags must still be the real ones.
  const reordered = intelServer.replace(/^(flags.*\n)(vmx flags.*\n)/m, '$2$1');
  assert.notEqual(reordered, intelServer);
  assert.ok(parseCpuInfo(reordered).simd.includes('avx512f'));
});

test('an AVX2 desktop: no AVX-512 named, bare metal, three processors counted', () => {
  const cpu = parseCpuInfo(amdDesktop);
  assert.equal(cpu.model, 'AMD Ryzen 7 3700X 8-Core Processor');
  assert.deepEqual(cpu.simd, ['sse4_2', 'avx', 'avx2', 'fma', 'f16c']);
  assert.equal(cpu.virtualised, false);
  assert.equal(cpu.logicalCpus, 3);
});

test('a 64-bit Arm server is named from its implementer and part, with asimd and its dot product', () => {
  const cpu = parseCpuInfo(neoverseN1);
  assert.equal(cpu.model, 'Arm Neoverse-N1');
  assert.equal(cpu.architecture, 'arm');
  assert.deepEqual(cpu.simd, ['asimd', 'asimdhp', 'asimddp']);
  assert.equal(cpu.logicalCpus, 2);
  assert.equal(cpu.cpuid, undefined);
});

test('an Arm part not in the table is printed by number; SVE and SVE2 are found', () => {
  const cpu = parseCpuInfo(sveUnknownPart);
  assert.equal(cpu.model, 'Arm part 0xfff');
  assert.deepEqual(cpu.simd, ['asimd', 'asimddp', 'i8mm', 'bf16', 'sve', 'sve2']);
});

test('a 32-bit Arm board without implementer fields keeps its model name and finds neon', () => {
  const cpu = parseCpuInfo(armv7Board);
  assert.equal(cpu.model, 'ARMv7 Processor rev 4 (v7l)');
  assert.deepEqual(cpu.simd, ['neon']);
  // Without a model name the board's Hardware line, printed after the processors, names it.
  assert.equal(parseCpuInfo(armv7Board.replace(/^model name.*\n/m, '')).model, 'BCM2835');
});

test('an empty or foreign text gives an unknown CPU with no extensions rather than an error', () => {
  assert.deepEqual(parseCpuInfo(''), { model: 'unknown', architecture: 'unknown', simd: [], logicalCpus: 0, virtualised: false });
  assert.equal(parseCpuInfo('processor : 0\nmodel name : RISC-V thing\nisa : rv64imafdc\n').architecture, 'unknown');
});

test('allowed cores: the affinity, or a tighter quota (which may be fractional)', () => {
  assert.equal(allowedCores(8, undefined), 8);
  assert.equal(allowedCores(8, 2), 2);
  assert.equal(allowedCores(8, 1.5), 1.5);
  assert.equal(allowedCores(2, 4), 2);
});
