// The package `ebpf-lab` the notebooks import (notebooks/node_modules/ebpf-lab, written by ./lab): the
// bpf() layer, the examples' own modules and what the notebooks show. The logic lives in those tested
// modules; a notebook imports it and explains.

export * from '../bpf/ts/index.js';
export { htmlTable, textTable, sideBySide, twoColumns, pre, projectSources, type SourceFile } from "./notebook/show.js";
export { runExecs, runTool, sleep, type ToolRun } from "./notebook/execs.js";
export { explainRejection, type Rejection } from "./notebook/verifier.js";
export { flagTable, FLAG_TABLE_TYPES, OPERATIONS as FLAG_OPERATIONS } from "./notebook/maps.js";
export { tools, type ToolInfo } from "./tools.js";
export { counterProgram, ExecCounter } from "../bpf/counter/counter.js";
export { compare, type NotebookCompare } from "./notebook/compare.js";
export { HelloWorld } from "../bpf/hello/hello.js";
export { kernelLayout, type Layout } from "../bpf/execsnoop/execsnoop.js";
export { projectRoot } from "./paths.js";
export { lastMatrix, matrixMarkdown, matrixTable, type Column } from "./matrix.js";
export { runBench, benchCharts, formatBench, benchRows, type BenchReport, type Chart } from "./bench/index.js";
export { kernelCheck, kernelSummary, needs, type KernelCheckRow } from './notebook/kernel-check.js';
export { recordBpfCalls, attrRows, ATTR_LAYOUTS, type RecordedCall } from './notebook/attr.js';
export { check11, check12, check21, check22, check31, check32, check41, check42 } from './notebook/exercises.js';
export { ProgLoadAttr, MapCreateAttr, MapElemAttr } from '../bpf/ts/attr.js';
export { runCourseProgram, compileC, tryCompile, type CourseRun, type Compiled } from './notebook/course.js';
