#!/usr/bin/python3
"""Execute notebooks through real Jupyter (nbclient, the tslab kernel), each `--runs` times in one kernel
session, and write what every cell did as JSON for the tap tests to assert on.

tslab reports a failing cell only by its execution status and stderr (no `error` output, and nbclient's
CellExecutionError carries an almost empty message), so each cell's stderr and status are recorded here.
Before the kernel is shut down, its leftovers are listed: BPF fds still open in the kernel process, and its
child processes. Usage: run_notebooks.py --out FILE [--runs N] [--executed DIR] [--cwd DIR] NOTEBOOK...
"""
import argparse, json, os, pathlib, sys, time
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError


def kernel_pid(client):
    prov = getattr(client.km, 'provisioner', None)
    proc = getattr(prov, 'process', None)
    if proc is not None:
        return proc.pid
    kernel = getattr(client.km, 'kernel', None)
    return getattr(kernel, 'pid', None)


def bpf_fds(pid):
    """The kernel process's fds that hold BPF objects or perf events: anon_inode:bpf-map, bpf-prog, bpf_link, [perf_event]."""
    out = []
    fd_dir = f'/proc/{pid}/fd'
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(f'{fd_dir}/{fd}')
        except OSError:
            continue
        if 'bpf' in target or 'perf_event' in target:
            out.append(f'{fd} -> {target}')
    return sorted(out)


def children(pid):
    """Processes whose parent is the kernel process (a tracer a cell started and did not stop)."""
    out = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            stat = pathlib.Path(f'/proc/{entry}/stat').read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(')') + 2:].split()
        if int(fields[1]) == pid:
            out.append(f'{entry} {stat[stat.index("(") + 1:stat.rindex(")")]}')
    return out


def outputs_of(cell):
    rec = {'stdout': '', 'stderr': '', 'html': [], 'png': 0}
    for o in cell.get('outputs', []):
        if o.get('output_type') == 'stream':
            rec[o['name']] += o.get('text', '')
        elif o.get('output_type') in ('display_data', 'execute_result'):
            data = o.get('data', {})
            if 'text/html' in data:
                rec['html'].append(data['text/html'])
            if 'image/png' in data:
                rec['png'] += 1
            if 'text/plain' in data:
                rec['stdout'] += data['text/plain']
        elif o.get('output_type') == 'error':
            rec['stderr'] += '\n'.join(o.get('traceback', []))
    return rec


def run_notebook(path, runs, executed_dir, timeout, cwd):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name='tslab', startup_timeout=timeout,
                            resources={'metadata': {'path': cwd or str(pathlib.Path(path).parent)}})
    result = {'path': str(path), 'runs': []}
    started = time.monotonic()
    with client.setup_kernel():
        result['kernelStartSeconds'] = round(time.monotonic() - started, 2)
        pid = kernel_pid(client)
        result['kernelPid'] = pid
        for r in range(runs):
            cells = []
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != 'code':
                    continue
                cell.outputs = []
                status, message = 'ok', ''
                started = time.monotonic()
                try:
                    client.execute_cell(cell, index)
                except CellTimeoutError as e:
                    status, message = 'timeout', str(e)[-500:]
                except CellExecutionError as e:
                    status, message = 'error', str(e)[-500:]
                rec = outputs_of(cell)
                rec.update({'index': index, 'status': status, 'message': message, 'source': cell.source,
                            'seconds': round(time.monotonic() - started, 2)})
                cells.append(rec)
            result['runs'].append({'cells': cells, 'seconds': round(sum(c['seconds'] for c in cells), 2)})
        # what the notebook left behind, while its kernel still runs
        result['leftovers'] = {'bpfFds': bpf_fds(pid) if pid else ['(kernel pid unknown)'], 'children': children(pid) if pid else []}
    if executed_dir:
        os.makedirs(executed_dir, exist_ok=True)
        nbformat.write(nb, os.path.join(executed_dir, pathlib.Path(path).name))
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--runs', type=int, default=2)
    ap.add_argument('--executed')
    ap.add_argument('--timeout', type=int, default=240)
    ap.add_argument('--cwd', help="the kernel's working directory (default: the notebook's folder)")
    ap.add_argument('notebooks', nargs='+')
    a = ap.parse_args()
    results = []
    for p in a.notebooks:
        try:
            results.append(run_notebook(p, a.runs, a.executed, a.timeout, a.cwd))
        except Exception as e:  # the kernel did not start or died: this notebook's result, not the others'
            results.append({'path': str(p), 'kernelPid': None, 'runs': [], 'failure': f'{type(e).__name__}: {e}',
                            'leftovers': {'bpfFds': [], 'children': []}})
    pathlib.Path(a.out).write_text(json.dumps({'notebooks': results}, indent=1))


if __name__ == '__main__':
    sys.exit(main())
