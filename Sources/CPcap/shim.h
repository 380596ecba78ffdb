// libpcap (Debian: libpcap-dev): pcap and pcapng files and live capture, for the flow meter.
#ifndef GPU_TRAIN_CPCAP_SHIM_H
#define GPU_TRAIN_CPCAP_SHIM_H
#include <pcap/pcap.h>
#endif
