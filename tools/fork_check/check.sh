#!/usr/bin/env bash
# Compares `gpu-train flows` with the CICFlowMeter fork that made the shared data
# (GintsEngelen/CICFlowMeter at f6d5aac, April 2022: the last version whose CSV has the shared data's
# 87 columns), run as an oracle on the same pcaps. Nothing of the fork is kept in this repository:
# its classes are compiled from a checkout you give, into a temporary folder.
#
#   tools/fork_check/check.sh FORK_CHECKOUT GPU_TRAIN [PCAP...]
#
# FORK_CHECKOUT: a git clone of https://github.com/GintsEngelen/CICFlowMeter (or a bare mirror).
# Without PCAPs, three random pcaps are made (random_pcap.py: RST, FIN, SYN in mid-flow, gaps over
# 5 s and 120 s, ICMP, fragments, same-address pairs). Needs a JDK (Debian: openjdk-17-jdk-headless)
# and libcommons-math3-java libcommons-lang3-java libslf4j-java; libpcap0.8 for the fork's jnetpcap.
# Every flow's line must be byte-identical (compared as a multiset keyed by Flow ID and Timestamp:
# the two write flows in different orders).
set -euo pipefail
fork=$1; gpu_train=$2; shift 2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
commit=f6d5aac
pkg=src/main/java/cic/cs/unb/ca/jnetpcap
mkdir -p "$work/src/cic/cs/unb/ca/jnetpcap/worker" "$work/classes"
for f in BasicFlow BasicPacketInfo FlowGenerator PacketReader FlowFeature DateFormatter IdGenerator ProtocolEnum TcpFlowState Protocol; do
  git -C "$fork" show "$commit:$pkg/$f.java" > "$work/src/cic/cs/unb/ca/jnetpcap/$f.java"
done
git -C "$fork" show "$commit:$pkg/worker/FlowGenListener.java" > "$work/src/cic/cs/unb/ca/jnetpcap/worker/FlowGenListener.java"
# FlowGenerator needs only Utils.LINE_SEP (the fork's Utils pulls in Apache Tika).
printf 'package cic.cs.unb.ca.jnetpcap;\npublic class Utils { public static final String LINE_SEP = System.lineSeparator(); }\n' \
  > "$work/src/cic/cs/unb/ca/jnetpcap/Utils.java"
git -C "$fork" show "$commit:jnetpcap/linux/jnetpcap-1.4.r1425/jnetpcap.jar" > "$work/jnetpcap.jar"
git -C "$fork" show "$commit:jnetpcap/linux/jnetpcap-1.4.r1425/libjnetpcap.so" > "$work/libjnetpcap.so"
cp "$here/Main.java" "$work/src/Main.java"
cp=$work/jnetpcap.jar:/usr/share/java/commons-math3.jar:/usr/share/java/commons-lang3.jar:/usr/share/java/slf4j-api.jar:/usr/share/java/slf4j-nop.jar
javac -nowarn -d "$work/classes" -cp "$cp" $(find "$work/src" -name '*.java') 2>&1 | grep -v '^Note:' || true
pcaps=("$@")
if [ ${#pcaps[@]} -eq 0 ]; then
  for seed in 1 2 3; do
    python3 "$here/random_pcap.py" "$work/random-$seed.pcap" 5000 "$seed"
    pcaps+=("$work/random-$seed.pcap")
  done
fi
status=0
for pcap in "${pcaps[@]}"; do
  java -Djava.library.path="$work" -cp "$work/classes:$cp" Main "$pcap" "$work/fork.csv" >/dev/null 2>&1
  "$gpu_train" flows --pcap "$pcap" --out "$work/ours.csv" 2>/dev/null
  echo "== $pcap"
  python3 "$here/compare.py" "$work/fork.csv" "$work/ours.csv" 10 || status=1
done
exit $status
