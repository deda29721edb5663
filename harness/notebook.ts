// The package `ebpf-lab` the notebooks import (notebooks/node_modules/ebpf-lab, written by ./lab): the
// bpf() layer, the examples' own modules and what the notebooks show. The logic lives in those tested
// modules; a notebook imports it and explains.

export * from '../bpf/ts/index.js';
export { kernelCheck, kernelSummary, type KernelCheckRow } from './notebook/kernel-check.js';
