// The filter gradient's two thread splits (CPUBackend.filterGradientSplit) on two threads:
// summed thread CPU time of both threads plus the reduction, best of 7 (`make bench-conv-split`).
#include "ckernels.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double tcpu(void){struct timespec t;clock_gettime(CLOCK_THREAD_CPUTIME_ID,&t);return t.tv_sec+t.tv_nsec*1e-9;}
typedef struct{int mode,idx,isa;gt_conv_shape s;int n;const float*x,*dy;float*partial,*scratch;size_t pf;int blocks;double t;}job;
static void*run(void*a){job*j=a;double t0=tcpu();
 if(j->mode==0){int h=(j->n+1)/2,f=j->idx*h,e=f+h<j->n?f+h:j->n;float*p=j->partial+j->idx*j->pf;memset(p,0,4*j->pf);
   gt_conv_backward_filter(j->isa,j->s,j->x,j->dy,f,e,p,j->scratch);}
 else{int h=(j->blocks+1)/2,f=j->idx*h,e=f+h<j->blocks?f+h:j->blocks;size_t pb=j->pf/j->blocks;memset(j->partial+f*pb,0,4*pb*(e-f));
   gt_conv_backward_filter_blocks(j->isa,j->s,j->x,j->dy,0,j->n,f,e,j->partial,j->scratch);}
 j->t=tcpu()-t0;return 0;}
int main(int argc,char**argv){int isa=gt_best_isa();int L[3][4]={{64,128,16,16},{128,128,8,8},{128,256,4,4}};int Ns[3]={10,64,256};
 for(int l=0;l<3;l++)for(int ni=0;ni<3;ni++){gt_conv_shape s={L[l][0],L[l][1],L[l][2],L[l][3],3};int n=Ns[ni];size_t hw=s.height*s.width;
  float*x=malloc(4*n*s.in_channels*hw),*dy=malloc(4*n*s.out_channels*hw);for(size_t i=0;i<n*s.in_channels*hw;i++)x[i]=(i%13)*0.1f;for(size_t i=0;i<n*s.out_channels*hw;i++)dy[i]=(i%7)*0.1f;
  size_t pf=gt_conv_filter_partial_floats(isa,s);float*partial=malloc(4*pf*2);size_t sf=gt_conv_backward_filter_scratch_floats(isa,s,n);float*sc=malloc(4*sf*2);float*dw=malloc(4*pf);
  double best[2]={1e9,1e9};
  for(int r=0;r<7;r++)for(int mode=0;mode<2;mode++){job J[2];pthread_t th[2];for(int i=0;i<2;i++){J[i]=(job){mode,i,isa,s,n,x,dy,partial,sc+i*sf,pf,gt_conv_channel_blocks(isa,s),0};pthread_create(&th[i],0,run,&J[i]);}
   for(int i=0;i<2;i++)pthread_join(th[i],0);double t0=tcpu();
   if(mode==0)gt_conv_reduce_filter(isa,s,partial,2,pf,dw,0,0,s.out_channels);else gt_conv_reduce_filter(isa,s,partial,1,pf,dw,0,0,s.out_channels);
   double tot=J[0].t+J[1].t+(tcpu()-t0);if(tot<best[mode])best[mode]=tot;}
  double fl=2.0*n*s.out_channels*hw*s.in_channels*9;
  printf("%d->%d %dx%d N%d: images split %.2f ms (%.0f GFLOP/s per core), channels split %.2f ms (%.0f)\n",s.in_channels,s.out_channels,s.height,s.width,n,best[0]*1e3,fl/best[0]/1e9,best[1]*1e3,fl/best[1]/1e9);
  free(x);free(dy);free(partial);free(sc);free(dw);}}
