// The least a compositor process can do per frame for one client: wake at the vblank (timerfd),
// send the frame event (a 24-byte message), wake again when the client's next commit arrives
// (a 64-byte message), read it. Prints the parent's CPU time per frame from schedstat.
// docs/PERFORMANCE.md compares compositord's 1-client cost with it.
//   gcc -O2 scripts/perf/wakeup-floor.c -o /tmp/wakeup-floor && /tmp/wakeup-floor 600
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
static unsigned long long cpu_ns(void){FILE*f=fopen("/proc/self/schedstat","r");unsigned long long a=0;fscanf(f,"%llu",&a);fclose(f);return a;}
int main(int argc,char**argv){
  int frames=argc>1?atoi(argv[1]):600;
  int sv[2]; socketpair(AF_UNIX,SOCK_STREAM|SOCK_CLOEXEC,0,sv);
  pid_t c=fork();
  if(c==0){ close(sv[0]); char b[64]; for(;;){ ssize_t n=read(sv[1],b,sizeof b); if(n<=0) _exit(0); memset(b,1,64); write(sv[1],b,64);} }
  close(sv[1]);
  int ep=epoll_create1(EPOLL_CLOEXEC);
  int tfd=timerfd_create(CLOCK_MONOTONIC,TFD_CLOEXEC|TFD_NONBLOCK);
  struct epoll_event e={.events=EPOLLIN,.data.fd=tfd}; epoll_ctl(ep,EPOLL_CTL_ADD,tfd,&e);
  e.data.fd=sv[0]; epoll_ctl(ep,EPOLL_CTL_ADD,sv[0],&e);
  struct timespec now; clock_gettime(CLOCK_MONOTONIC,&now);
  long long period=16666667, next=(long long)now.tv_sec*1000000000LL+now.tv_nsec+period;
  int done=0, arm=1; unsigned long long t0=0;
  while(done<frames+60){
    if(arm){ struct itimerspec its={0}; its.it_value.tv_sec=next/1000000000LL; its.it_value.tv_nsec=next%1000000000LL;
      timerfd_settime(tfd,TFD_TIMER_ABSTIME,&its,NULL); arm=0; }
    struct epoll_event ev[4]; int n=epoll_wait(ep,ev,4,-1);
    for(int i=0;i<n;i++){
      if(ev[i].data.fd==tfd){ uint64_t x; read(tfd,&x,8); char m[24]={0}; send(sv[0],m,24,MSG_DONTWAIT|MSG_NOSIGNAL); next+=period; done++; arm=1; if(done==60) t0=cpu_ns(); }
      else { char b[256]; struct msghdr h={0}; struct iovec io={b,sizeof b}; h.msg_iov=&io; h.msg_iovlen=1; recvmsg(sv[0],&h,MSG_DONTWAIT); }
    }
  }
  unsigned long long t1=cpu_ns();
  printf("floor: %.4f ms of CPU per frame (timer wake-up + send, client message wake-up + recv), %d frames\n",(t1-t0)/1e6/frames,frames);
  close(sv[0]); waitpid(c,NULL,0); return 0;
}
