# SPDX-License-Identifier: MIT
# bash completion for lwt-ctl (installed by `make install` into
# $(PREFIX)/share/bash-completion/completions/lwt-ctl).
_lwt_ctl()
{
	local cur prev words cword
	_init_completion 2>/dev/null || {
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD-1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	}
	local commands="status stats peers routes list attach detach reload"
	local cmd= i
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-i|--mode) ((i++)) ;;
		-*) ;;
		*) cmd=${words[i]}; break ;;
		esac
	done
	case $prev in
	-i)
		# the daemons of this network namespace
		COMPREPLY=($(compgen -W "$(lwt-ctl list 2>/dev/null)" -- "$cur"))
		return ;;
	--mode)
		COMPREPLY=($(compgen -W "auto native generic" -- "$cur"))
		return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "-i --json --mode --help --version" -- "$cur"))
		return
	fi
	case $cmd in
	"")
		COMPREPLY=($(compgen -W "$commands" -- "$cur")) ;;
	attach|detach)
		COMPREPLY=($(compgen -W "$(ls /sys/class/net 2>/dev/null)" -- "$cur")) ;;
	esac
}
complete -F _lwt_ctl lwt-ctl
