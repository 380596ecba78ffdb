import cic.cs.unb.ca.jnetpcap.*;
import cic.cs.unb.ca.jnetpcap.worker.FlowGenListener;
import org.jnetpcap.PcapClosedException;
import java.io.*;
// tools/fork_check: meters one pcap with the fork's classes as its Cmd does (IPv4 only, flow timeout
// 120 s, activity timeout 5 s), flows closed during the read first, then those still open.
public class Main {
    public static void main(String[] args) throws Exception {
        String in = args[0], out = args[1];
        new File(out).delete();
        final PrintWriter w = new PrintWriter(new FileWriter(out));
        w.println(FlowFeature.getHeader());
        FlowGenerator gen = new FlowGenerator(true, 120000000L, 5000000L);
        gen.addFlowListener(new FlowGenListener() { public void onFlowGenerated(BasicFlow f) { w.println(f.dumpFlowBasedFeaturesEx()); } });
        PacketReader reader = new PacketReader(in, true, false);
        while (true) {
            try { BasicPacketInfo p = reader.nextPacket(); if (p != null) gen.addPacket(p); }
            catch (PcapClosedException e) { break; }
        }
        w.close();
        gen.dumpLabeledCurrentFlow(out, FlowFeature.getHeader());
    }
}
