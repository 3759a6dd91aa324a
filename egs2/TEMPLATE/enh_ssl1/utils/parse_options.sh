#!/usr/bin/env bash
# Option parsing for recipe scripts (sourced, not executed):
#
#   foo_bar=default          # declare every option as a shell variable first
#   help_message="usage..."  # optional, printed by --help
#   . utils/parse_options.sh # then "--foo_bar value" / "--foo-bar value" set it
#
# * Only declared variables can be set: an unknown option is an error (exit 1).
# * An option whose default is true/false only takes true or false.
# * "--config FILE" sources FILE (lines "foo_bar=value") before later options.
# * "--help" / "-h" prints $help_message (or the declared options) and exits 0.
# * Parsing stops at the first argument that is not an option (or after "--");
#   the remaining arguments stay in "$@" as positional arguments.
#
# Written for espnet2_ext after the convention of Kaldi/ESPnet recipes.

_po_prog=$(basename "$0")

_po_usage() {
    if [ -n "${help_message:-}" ]; then
        echo -e "${help_message}"
    else
        echo "Usage: ${_po_prog} [options]"
    fi
}

while [ $# -gt 0 ]; do
    case "$1" in
        --help|-h)
            _po_usage
            exit 0
            ;;
        --)
            shift
            break
            ;;
        --*=*)
            echo "${_po_prog}: options take a separate value: use '${1%%=*} ${1#*=}' instead of '$1'" >&2
            exit 1
            ;;
        --*)
            _po_name=${1#--}
            _po_name=${_po_name//-/_}
            if [[ ! "${_po_name}" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
                echo "${_po_prog}: invalid option name '$1'" >&2
                exit 1
            fi
            if [ $# -lt 2 ]; then
                echo "${_po_prog}: option '$1' needs a value" >&2
                exit 1
            fi
            if [ "${_po_name}" = config ]; then
                if [ ! -f "$2" ]; then
                    echo "${_po_prog}: config file '$2' (given by --config) does not exist" >&2
                    exit 1
                fi
                # shellcheck disable=SC1090
                . "$2" || { echo "${_po_prog}: failed to read config file '$2'" >&2; exit 1; }
                shift 2
                continue
            fi
            if [ -z "${!_po_name+declared}" ]; then
                echo "${_po_prog}: unknown option '$1' (run '${_po_prog} --help' for the options)" >&2
                exit 1
            fi
            _po_old=${!_po_name}
            if [ "${_po_old}" = true ] || [ "${_po_old}" = false ]; then
                if [ "$2" != true ] && [ "$2" != false ]; then
                    echo "${_po_prog}: option '$1' expects true or false, got '$2'" >&2
                    exit 1
                fi
            fi
            printf -v "${_po_name}" '%s' "$2"
            shift 2
            ;;
        *)
            break
            ;;
    esac
done
unset _po_name _po_old
true
